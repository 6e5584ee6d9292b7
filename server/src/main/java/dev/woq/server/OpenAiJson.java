package dev.woq.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

/** The response bodies and stream chunks of OpenAI's API, in the shapes its clients parse. */
final class OpenAiJson {
    private OpenAiJson() {}

    /** Token counts; {@code cachedTokens}: prompt tokens taken from the prefix cache (OpenAI's field for it). */
    static JsonObject usage(int promptTokens, int completionTokens, int cachedTokens) {
        JsonObject u = new JsonObject();
        u.addProperty("prompt_tokens", promptTokens);
        u.addProperty("completion_tokens", completionTokens);
        u.addProperty("total_tokens", promptTokens + completionTokens);
        JsonObject details = new JsonObject();
        details.addProperty("cached_tokens", cachedTokens);
        u.add("prompt_tokens_details", details);
        return u;
    }

    /** A whole reply: {@code chat.completion} or {@code text_completion}. */
    static JsonObject completion(boolean chat, String id, long created, String model, String text, String finishReason,
            JsonObject usage) {
        JsonObject choice = new JsonObject();
        choice.addProperty("index", 0);
        if (chat) {
            JsonObject message = new JsonObject();
            message.addProperty("role", "assistant");
            message.addProperty("content", text);
            choice.add("message", message);
        } else {
            choice.addProperty("text", text);
        }
        choice.add("logprobs", JsonNull.INSTANCE);
        choice.addProperty("finish_reason", finishReason);
        JsonObject o = envelope(id, chat ? "chat.completion" : "text_completion", created, model);
        JsonArray choices = new JsonArray();
        choices.add(choice);
        o.add("choices", choices);
        o.add("usage", usage);
        return o;
    }

    /**
     * One streamed chunk: a piece of text (or, for chat, the opening role), and on the last one
     * the finish reason.
     */
    static JsonObject chunk(boolean chat, String id, long created, String model, String role, String text,
            String finishReason) {
        JsonObject choice = new JsonObject();
        choice.addProperty("index", 0);
        if (chat) {
            JsonObject delta = new JsonObject();
            if (role != null) {
                delta.addProperty("role", role);
            }
            if (text != null) {
                delta.addProperty("content", text);
            }
            choice.add("delta", delta);
        } else {
            choice.addProperty("text", text == null ? "" : text);
        }
        choice.add("logprobs", JsonNull.INSTANCE);
        choice.add("finish_reason", finishReason == null ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive(finishReason));
        JsonObject o = envelope(id, chat ? "chat.completion.chunk" : "text_completion", created, model);
        JsonArray choices = new JsonArray();
        choices.add(choice);
        o.add("choices", choices);
        return o;
    }

    /** The chunk {@code stream_options.include_usage} asks for: no choices, only usage. */
    static JsonObject usageChunk(boolean chat, String id, long created, String model, JsonObject usage) {
        JsonObject o = envelope(id, chat ? "chat.completion.chunk" : "text_completion", created, model);
        o.add("choices", new JsonArray());
        o.add("usage", usage);
        return o;
    }

    static JsonObject models(String id, long created) {
        JsonObject model = new JsonObject();
        model.addProperty("id", id);
        model.addProperty("object", "model");
        model.addProperty("created", created);
        model.addProperty("owned_by", "woq");
        JsonArray data = new JsonArray();
        data.add(model);
        JsonObject list = new JsonObject();
        list.addProperty("object", "list");
        list.add("data", data);
        return list;
    }

    private static JsonObject envelope(String id, String object, long created, String model) {
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        o.addProperty("object", object);
        o.addProperty("created", created);
        o.addProperty("model", model);
        o.addProperty("system_fingerprint", "woq");
        return o;
    }
}
