package dev.woq.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.woq.rag.Embedder;
import io.javalin.http.Context;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * {@code POST /v1/embeddings} as OpenAI answers it: {@code input} is one string or an array of
 * strings, the reply holds one vector per string in order, and {@code usage} counts the tokens
 * the embedding model read (its own word pieces, {@code [CLS]} and {@code [SEP]} included).
 * A text longer than the model reads is refused rather than cut silently, and so is an array of
 * more than {@link #MAX_INPUTS} strings.
 */
final class EmbeddingsHandler {
    static final int MAX_INPUTS = Documents.MAX_EMBEDDING_INPUTS;

    private final Documents documents;

    EmbeddingsHandler(Documents documents) {
        this.documents = documents;
    }

    void handle(Context ctx, String body) {
        JsonObject o = ApiRequestParser.object(body);
        List<String> inputs = inputs(o); // checked before the model loads: bad input costs nothing else
        Embedder embedder = documents.embedder();
        boolean base64 = base64(o, embedder);
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            int n = embedder.countTokens(inputs.get(i));
            if (n > embedder.maxTokens()) {
                String where = o.get("input").isJsonArray() ? "input[" + i + "]" : "input";
                throw new ApiError(400, "invalid_request_error", String.format(Locale.ROOT,
                        "%s is %d tokens long, but %s reads at most %d (its [CLS] and [SEP] included) and would"
                                + " silently ignore the rest: split the text into shorter pieces.",
                        where, n, embedder.modelId(), embedder.maxTokens()), "input", "context_length_exceeded");
            }
            tokens += n;
        }
        float[][] vectors = embedder.embed(inputs);
        JsonArray data = new JsonArray();
        for (int i = 0; i < vectors.length; i++) {
            JsonObject item = new JsonObject();
            item.addProperty("object", "embedding");
            item.addProperty("index", i);
            if (base64) {
                item.addProperty("embedding", base64(vectors[i]));
            } else {
                JsonArray v = new JsonArray(vectors[i].length);
                for (float x : vectors[i]) {
                    v.add(x);
                }
                item.add("embedding", v);
            }
            data.add(item);
        }
        JsonObject usage = new JsonObject();
        usage.addProperty("prompt_tokens", tokens);
        usage.addProperty("total_tokens", tokens);
        JsonObject reply = new JsonObject();
        reply.addProperty("object", "list");
        reply.add("data", data);
        reply.addProperty("model", embedder.modelId());
        reply.add("usage", usage);
        ctx.contentType("application/json").result(reply.toString());
    }

    /** Checks the other fields against the model, naming the one that is wrong; true: base64 wanted. */
    static boolean base64(JsonObject o, Embedder embedder) {
        String model = ApiRequestParser.string(o, "model", false);
        if (model != null && !servesModel(model, embedder.modelId())) {
            throw new ApiError(404, "invalid_request_error", "The model '" + model + "' does not exist: this server"
                    + " embeds with '" + embedder.modelId() + "' (send that name, or leave out \"model\").",
                    "model", "model_not_found");
        }
        if (ApiRequestParser.present(o, "dimensions")
                && ApiRequestParser.integer(o, "dimensions") != embedder.dimensions()) {
            throw ApiError.badRequest(embedder.modelId() + " gives vectors of " + embedder.dimensions()
                    + " dimensions only; got dimensions=" + o.get("dimensions") + ".", "dimensions");
        }
        String format = ApiRequestParser.string(o, "encoding_format", false);
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiError.badRequest("encoding_format must be \"float\" or \"base64\", got \"" + format + "\".",
                    "encoding_format");
        }
        return "base64".equals(format);
    }

    static List<String> inputs(JsonObject o) {
        if (!ApiRequestParser.present(o, "input")) {
            throw ApiError.badRequest("input is required: a string, or an array of up to " + MAX_INPUTS
                    + " strings.", "input");
        }
        JsonElement input = o.get("input");
        if (isString(input)) {
            return List.of(nonEmpty(input.getAsString(), "input"));
        }
        if (!input.isJsonArray()) {
            throw ApiError.badRequest("input must be a string or an array of strings, got " + kind(input) + ".",
                    "input");
        }
        JsonArray array = input.getAsJsonArray();
        if (array.isEmpty()) {
            throw ApiError.badRequest("input is an empty array: give at least one string.", "input");
        }
        if (array.size() > MAX_INPUTS) {
            throw ApiError.badRequest("input has " + array.size() + " strings; at most " + MAX_INPUTS
                    + " per request: send the rest in further requests.", "input");
        }
        List<String> texts = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            JsonElement e = array.get(i);
            String where = "input[" + i + "]";
            if (!isString(e)) {
                // OpenAI also takes arrays of token ids; they would be ids of another tokenizer here.
                throw ApiError.badRequest(where + " must be a string, got " + kind(e) + ". Token ids are not"
                        + " taken: the embedding model reads text with its own tokenizer.", "input");
            }
            texts.add(nonEmpty(e.getAsString(), where));
        }
        return texts;
    }

    private static boolean servesModel(String asked, String modelId) {
        String shortName = modelId.substring(modelId.lastIndexOf('/') + 1);
        return asked.equalsIgnoreCase(modelId) || asked.equalsIgnoreCase(shortName);
    }

    private static String nonEmpty(String text, String where) {
        if (text.isBlank()) {
            throw ApiError.badRequest(where + " is empty: there is nothing to embed.", "input");
        }
        return text;
    }

    private static boolean isString(JsonElement e) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isString();
    }

    private static String kind(JsonElement e) {
        if (e.isJsonArray()) {
            return "an array";
        }
        if (e.isJsonObject()) {
            return "an object";
        }
        if (e.isJsonNull()) {
            return "null";
        }
        return e.getAsJsonPrimitive().isNumber() ? "a number" : e.getAsJsonPrimitive().isBoolean() ? "a boolean" : e.toString();
    }

    private static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return Base64.getEncoder().encodeToString(b.array());
    }
}
