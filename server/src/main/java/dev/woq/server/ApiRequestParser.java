package dev.woq.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a request body as OpenAI's API does: JSON parsed by Gson, then every known field checked
 * for its type and range, naming the field when it is wrong. Fields woq does not use are ignored,
 * as OpenAI clients send many; {@code n} other than 1 and {@code logprobs} are refused because
 * answering them silently wrong would be worse.
 */
final class ApiRequestParser {
    static final int MAX_STOP_STRINGS = 4;

    private ApiRequestParser() {}

    static ApiRequest parse(String body, boolean chat) {
        JsonObject o = object(body);
        String model = string(o, "model", true);
        List<Llama3ChatTemplate.Message> messages = chat ? messages(o) : null;
        String prompt = chat ? null : prompt(o);
        double temperature = number(o, "temperature", 1.0, 0, 2, true);
        double topP = number(o, "top_p", 1.0, 0, 1, true);
        Integer maxTokens = integer(o, o.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
        if (maxTokens != null && maxTokens < 1) {
            throw ApiError.badRequest("max_tokens must be at least 1, got " + maxTokens + ".", "max_tokens");
        }
        Long seed = o.has("seed") && !o.get("seed").isJsonNull() ? longValue(o, "seed") : null;
        boolean stream = bool(o, "stream");
        boolean includeUsage = false;
        if (present(o, "stream_options")) {
            if (!o.get("stream_options").isJsonObject()) {
                throw ApiError.badRequest("stream_options must be an object.", "stream_options");
            }
            includeUsage = bool(o.getAsJsonObject("stream_options"), "include_usage");
        }
        if (present(o, "n") && (integer(o, "n") != 1)) {
            throw ApiError.badRequest("Only n=1 is supported: one choice per request.", "n");
        }
        if (present(o, "logprobs") && o.get("logprobs").isJsonPrimitive()
                && !(o.get("logprobs").getAsJsonPrimitive().isBoolean() && !o.get("logprobs").getAsBoolean())) {
            throw ApiError.badRequest("logprobs are not supported.", "logprobs");
        }
        return new ApiRequest(chat, model, messages, prompt, temperature, topP, maxTokens, stop(o), seed, stream,
                includeUsage);
    }

    /** The body as a JSON object; 400 when it is not one. */
    static JsonObject object(String body) {
        try {
            JsonElement root = JsonParser.parseString(body);
            if (!root.isJsonObject()) {
                throw ApiError.badRequest("The request body must be a JSON object.", null);
            }
            return root.getAsJsonObject();
        } catch (JsonParseException e) {
            throw ApiError.badRequest("The request body is not valid JSON: " + rootCause(e), null);
        }
    }

    private static List<Llama3ChatTemplate.Message> messages(JsonObject o) {
        if (!present(o, "messages")) {
            throw ApiError.badRequest("messages is required: an array of {role, content}.", "messages");
        }
        if (!o.get("messages").isJsonArray() || o.getAsJsonArray("messages").isEmpty()) {
            throw ApiError.badRequest("messages must be a non-empty array of {role, content}.", "messages");
        }
        List<Llama3ChatTemplate.Message> out = new ArrayList<>();
        JsonArray array = o.getAsJsonArray("messages");
        for (int i = 0; i < array.size(); i++) {
            String where = "messages[" + i + "]";
            if (!array.get(i).isJsonObject()) {
                throw ApiError.badRequest(where + " must be an object {role, content}.", where);
            }
            JsonObject m = array.get(i).getAsJsonObject();
            String role = string(m, "role", true, where + ".role");
            Role r = switch (role) {
                case "system", "developer" -> Role.SYSTEM;
                case "user" -> Role.USER;
                case "assistant" -> Role.ASSISTANT;
                default -> throw ApiError.badRequest(where + ".role must be system, user or assistant, got '"
                        + role + "'.", where + ".role");
            };
            out.add(new Llama3ChatTemplate.Message(r, content(m, where + ".content")));
        }
        return out;
    }

    /** A string, or an array of {type: "text", text} parts, joined. */
    private static String content(JsonObject m, String where) {
        JsonElement c = m.get("content");
        if (c == null || c.isJsonNull()) {
            throw ApiError.badRequest(where + " is required.", where);
        }
        if (c.isJsonPrimitive() && c.getAsJsonPrimitive().isString()) {
            return c.getAsString();
        }
        if (c.isJsonArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonElement part : c.getAsJsonArray()) {
                if (!part.isJsonObject() || !"text".equals(stringOrNull(part.getAsJsonObject().get("type")))
                        || stringOrNull(part.getAsJsonObject().get("text")) == null) {
                    throw ApiError.badRequest(where + ": only text parts {type: \"text\", text} are supported.", where);
                }
                text.append(part.getAsJsonObject().get("text").getAsString());
            }
            return text.toString();
        }
        throw ApiError.badRequest(where + " must be a string or an array of text parts.", where);
    }

    private static String prompt(JsonObject o) {
        JsonElement p = o.get("prompt");
        if (p == null || p.isJsonNull()) {
            throw ApiError.badRequest("prompt is required.", "prompt");
        }
        if (p.isJsonPrimitive() && p.getAsJsonPrimitive().isString()) {
            return p.getAsString();
        }
        if (p.isJsonArray() && p.getAsJsonArray().size() == 1 && stringOrNull(p.getAsJsonArray().get(0)) != null) {
            return p.getAsJsonArray().get(0).getAsString();
        }
        throw ApiError.badRequest("prompt must be a string (or an array of one string).", "prompt");
    }

    private static List<String> stop(JsonObject o) {
        if (!present(o, "stop")) {
            return List.of();
        }
        JsonElement s = o.get("stop");
        if (stringOrNull(s) != null) {
            return s.getAsString().isEmpty() ? List.of() : List.of(s.getAsString());
        }
        if (s.isJsonArray()) {
            List<String> out = new ArrayList<>();
            for (JsonElement e : s.getAsJsonArray()) {
                if (stringOrNull(e) == null) {
                    throw ApiError.badRequest("stop must be a string or an array of strings.", "stop");
                }
                if (!e.getAsString().isEmpty()) {
                    out.add(e.getAsString());
                }
            }
            if (out.size() > MAX_STOP_STRINGS) {
                throw ApiError.badRequest("stop takes at most " + MAX_STOP_STRINGS + " strings, got " + out.size() + ".", "stop");
            }
            return out;
        }
        throw ApiError.badRequest("stop must be a string or an array of strings.", "stop");
    }

    static boolean present(JsonObject o, String name) {
        return o.has(name) && !o.get(name).isJsonNull();
    }

    static String string(JsonObject o, String name, boolean required) {
        return string(o, name, required, name);
    }

    private static String string(JsonObject o, String name, boolean required, String param) {
        if (!present(o, name)) {
            if (required) {
                throw ApiError.badRequest(param + " is required.", param);
            }
            return null;
        }
        String s = stringOrNull(o.get(name));
        if (s == null) {
            throw ApiError.badRequest(param + " must be a string.", param);
        }
        return s;
    }

    private static String stringOrNull(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    private static double number(JsonObject o, String name, double fallback, double min, double max, boolean minInclusive) {
        if (!present(o, name)) {
            return fallback;
        }
        JsonElement e = o.get(name);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw ApiError.badRequest(name + " must be a number, got " + e + ".", name);
        }
        double v = e.getAsDouble();
        boolean aboveMin = minInclusive ? v >= min : v > min;
        if (!aboveMin || v > max || Double.isNaN(v)) {
            throw ApiError.badRequest(String.format(Locale.ROOT, "%s must be in %s%s, %s], got %s.", name,
                    minInclusive ? "[" : "(", fmt(min), fmt(max), e), name);
        }
        return v;
    }

    static Integer integer(JsonObject o, String name) {
        if (!present(o, name)) {
            return null;
        }
        long v = longValue(o, name);
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw ApiError.badRequest(name + " is out of range: " + v + ".", name);
        }
        return (int) v;
    }

    static long longValue(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw ApiError.badRequest(name + " must be an integer, got " + e + ".", name);
        }
        try {
            return e.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
        } catch (ArithmeticException notWhole) {
            throw ApiError.badRequest(name + " must be an integer, got " + e + ".", name);
        }
    }

    private static boolean bool(JsonObject o, String name) {
        if (!present(o, name)) {
            return false;
        }
        JsonElement e = o.get(name);
        if (!(e instanceof JsonPrimitive p) || !p.isBoolean()) {
            throw ApiError.badRequest(name + " must be true or false, got " + e + ".", name);
        }
        return p.getAsBoolean();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
