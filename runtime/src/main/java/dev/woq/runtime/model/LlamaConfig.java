package dev.woq.runtime.model;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a Llama 3 model, read from a Hugging Face {@code config.json} of
 * {@code LlamaForCausalLM}. Fields woq cannot honour (another architecture, biases, another
 * activation or rope scaling) are refused by name rather than ignored.
 *
 * @param hiddenSize width of the residual stream
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when fewer than {@code numHeads})
 * @param headDim width of one head
 * @param intermediateSize width of the SwiGLU MLP
 * @param numLayers decoder layers
 * @param rmsNormEps epsilon of RMSNorm
 * @param ropeTheta RoPE base frequency
 * @param ropeScaling Llama 3.1-style frequency scaling, or {@code null}
 * @param vocabSize rows of the embedding and the LM head
 * @param maxPositionEmbeddings the context length
 * @param tieWordEmbeddings whether the LM head reuses the embedding matrix
 * @param bosTokenId begin-of-text id
 * @param eosTokenIds every end id of the config (an int or a list in the file)
 * @param torchDtype the dtype the checkpoint declares (informational)
 */
public record LlamaConfig(
        int hiddenSize,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int numLayers,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int vocabSize,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype) {

    /** Llama 3.1's rope scaling ({@code "rope_type": "llama3"}). */
    public record RopeScaling(
            double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {}

    public static final String FILE_NAME = "config.json";

    public LlamaConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        check(hiddenSize > 0, "hidden_size", hiddenSize);
        check(numHeads > 0, "num_attention_heads", numHeads);
        check(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads (must divide num_attention_heads=" + numHeads + ")", numKvHeads);
        check(headDim > 0 && headDim % 2 == 0, "head_dim (must be even)", headDim);
        check(intermediateSize > 0, "intermediate_size", intermediateSize);
        check(numLayers > 0, "num_hidden_layers", numLayers);
        check(vocabSize > 0, "vocab_size", vocabSize);
        check(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings);
        check(rmsNormEps > 0, "rms_norm_eps", rmsNormEps);
        check(ropeTheta > 0, "rope_theta", ropeTheta);
    }

    private static void check(boolean ok, String field, Object value) {
        if (!ok) {
            throw new ConfigException("config.json: invalid " + field + ": " + value);
        }
    }

    /** Query width: {@code numHeads * headDim}. */
    public int queryWidth() {
        return numHeads * headDim;
    }

    /** Key/value width: {@code numKvHeads * headDim}. */
    public int kvWidth() {
        return numKvHeads * headDim;
    }

    /** Reads {@code dir/config.json}. */
    public static LlamaConfig load(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(
                    "No config.json in " + dir + ": a model directory is a Hugging Face checkpoint "
                            + "(config.json, tokenizer.json, *.safetensors).");
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(JsonParser.parseString(text).getAsJsonObject());
        } catch (JsonParseException | IllegalStateException e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause().getMessage() != null) {
                cause = cause.getCause(); // Gson's message starts with its parser's exception class
            }
            throw new CheckpointException(file + " is not valid JSON (" + cause.getMessage()
                    + "): fix it, or copy it again from the model's release.", e);
        } catch (ClassCastException | UnsupportedOperationException | NumberFormatException e) {
            // A field of the wrong JSON type (a string where a list belongs, a null flag).
            throw new ConfigException(file + ": a field has the wrong type (" + e.getMessage()
                    + "): compare it with the config.json of the model's original release");
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage().replaceFirst("^config.json: ", ""));
        }
    }

    /** Parses the JSON object of a {@code config.json}. */
    public static LlamaConfig parse(JsonObject json) {
        if (json.has("architectures") && !json.get("architectures").isJsonNull()) {
            if (!json.get("architectures").isJsonArray()) {
                throw new ConfigException("config.json: 'architectures' must be a list of class names, got "
                        + json.get("architectures"));
            }
            List<String> archs = new ArrayList<>();
            json.getAsJsonArray("architectures").forEach(e -> archs.add(e.getAsString()));
            if (!archs.contains("LlamaForCausalLM")) {
                throw new ConfigException(
                        "config.json: unsupported architectures " + archs + ": woq runs LlamaForCausalLM (Llama 3) only");
            }
        }
        String modelType = optString(json, "model_type", "llama");
        if (!modelType.equals("llama")) {
            throw new ConfigException("config.json: unsupported model_type '" + modelType + "': woq runs 'llama' only");
        }
        String act = optString(json, "hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ConfigException("config.json: unsupported hidden_act '" + act + "': Llama uses 'silu'");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (optBoolean(json, bias)) {
                throw new ConfigException("config.json: unsupported " + bias + "=true: Llama 3 has no biases");
            }
        }
        int hidden = requireInt(json, "hidden_size");
        int heads = requireInt(json, "num_attention_heads");
        int kvHeads = json.has("num_key_value_heads") ? requireInt(json, "num_key_value_heads") : heads;
        int headDim = json.has("head_dim") && !json.get("head_dim").isJsonNull()
                ? requireInt(json, "head_dim")
                : heads > 0 ? hidden / heads : 0; // 0 heads: the constructor names the field
        return new LlamaConfig(
                hidden,
                heads,
                kvHeads,
                headDim,
                requireInt(json, "intermediate_size"),
                requireInt(json, "num_hidden_layers"),
                optDouble(json, "rms_norm_eps", 1e-5),
                optDouble(json, "rope_theta", 10000.0),
                ropeScaling(json),
                requireInt(json, "vocab_size"),
                json.has("max_position_embeddings") ? requireInt(json, "max_position_embeddings") : 8192,
                optBoolean(json, "tie_word_embeddings"),
                json.has("bos_token_id") && !json.get("bos_token_id").isJsonNull() ? requireInt(json, "bos_token_id") : 128000,
                intOrList(json, "eos_token_id"),
                optString(json, "torch_dtype", "bfloat16"));
    }

    private static RopeScaling ropeScaling(JsonObject json) {
        if (!json.has("rope_scaling") || json.get("rope_scaling").isJsonNull()) {
            return null;
        }
        if (!json.get("rope_scaling").isJsonObject()) {
            throw new ConfigException("config.json: 'rope_scaling' must be an object (with rope_type, factor, ...) or"
                    + " null, got " + json.get("rope_scaling"));
        }
        JsonObject rs = json.getAsJsonObject("rope_scaling");
        String type = rs.has("rope_type") ? rs.get("rope_type").getAsString()
                : rs.has("type") ? rs.get("type").getAsString() : "(none)";
        if (!type.equals("llama3")) {
            throw new ConfigException(
                    "config.json: unsupported rope_scaling type '" + type + "': woq supports 'llama3' (Llama 3.1/3.2) or none");
        }
        return new RopeScaling(
                requireDouble(rs, "factor"),
                requireDouble(rs, "low_freq_factor"),
                requireDouble(rs, "high_freq_factor"),
                requireInt(rs, "original_max_position_embeddings"));
    }

    private static List<Integer> intOrList(JsonObject json, String key) {
        List<Integer> ids = new ArrayList<>();
        if (!json.has(key) || json.get(key).isJsonNull()) {
            return ids;
        }
        JsonElement e = json.get(key);
        JsonObject one = new JsonObject();
        try {
            for (JsonElement item : e.isJsonArray() ? e.getAsJsonArray() : List.of(e)) {
                one.add(key, item);
                ids.add(requireInt(one, key));
            }
        } catch (ConfigException bad) {
            throw new ConfigException("config.json: '" + key + "' must be an integer or a list of integers, got " + e);
        }
        return ids;
    }

    private static int requireInt(JsonObject json, String key) {
        if (!json.has(key) || json.get(key).isJsonNull()) {
            throw new ConfigException("config.json: missing required field '" + key + "'");
        }
        try {
            double v = json.get(key).getAsDouble();
            if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
                throw new ConfigException("config.json: '" + key + "' must be an integer, got " + json.get(key));
            }
            return (int) v;
        } catch (NumberFormatException | UnsupportedOperationException | IllegalStateException e) {
            throw new ConfigException("config.json: '" + key + "' must be an integer, got " + json.get(key));
        }
    }

    private static double requireDouble(JsonObject json, String key) {
        if (!json.has(key) || json.get(key).isJsonNull()) {
            throw new ConfigException("config.json: missing required field '" + key + "'");
        }
        try {
            return json.get(key).getAsDouble();
        } catch (NumberFormatException | UnsupportedOperationException | IllegalStateException e) {
            throw new ConfigException("config.json: '" + key + "' must be a number, got " + json.get(key));
        }
    }

    private static double optDouble(JsonObject json, String key, double dflt) {
        return json.has(key) && !json.get(key).isJsonNull() ? requireDouble(json, key) : dflt;
    }

    private static String optString(JsonObject json, String key, String dflt) {
        if (!json.has(key) || json.get(key).isJsonNull()) {
            return dflt;
        }
        if (!json.get(key).isJsonPrimitive() || !json.get(key).getAsJsonPrimitive().isString()) {
            throw new ConfigException("config.json: '" + key + "' must be a string, got " + json.get(key));
        }
        return json.get(key).getAsString();
    }

    /** A JSON true/false (absent or null: false); Gson would read the string "yes" as false. */
    private static boolean optBoolean(JsonObject json, String key) {
        if (!json.has(key) || json.get(key).isJsonNull()) {
            return false;
        }
        if (!json.get(key).isJsonPrimitive() || !json.get(key).getAsJsonPrimitive().isBoolean()) {
            throw new ConfigException("config.json: '" + key + "' must be true or false, got " + json.get(key));
        }
        return json.get(key).getAsBoolean();
    }

    /** The {@code config.json} Hugging Face writes for this shape. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("LlamaForCausalLM"));
        m.put("attention_bias", false);
        m.put("attention_dropout", 0.0);
        m.put("bos_token_id", bosTokenId);
        m.put("eos_token_id", eosTokenIds.size() == 1 ? eosTokenIds.get(0) : eosTokenIds);
        m.put("head_dim", headDim);
        m.put("hidden_act", "silu");
        m.put("hidden_size", hiddenSize);
        m.put("initializer_range", 0.02);
        m.put("intermediate_size", intermediateSize);
        m.put("max_position_embeddings", maxPositionEmbeddings);
        m.put("mlp_bias", false);
        m.put("model_type", "llama");
        m.put("num_attention_heads", numHeads);
        m.put("num_hidden_layers", numLayers);
        m.put("num_key_value_heads", numKvHeads);
        m.put("pretraining_tp", 1);
        m.put("rms_norm_eps", rmsNormEps);
        if (ropeScaling != null) {
            Map<String, Object> rs = new LinkedHashMap<>();
            rs.put("factor", ropeScaling.factor());
            rs.put("high_freq_factor", ropeScaling.highFreqFactor());
            rs.put("low_freq_factor", ropeScaling.lowFreqFactor());
            rs.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            rs.put("rope_type", "llama3");
            m.put("rope_scaling", rs);
        } else {
            m.put("rope_scaling", null);
        }
        m.put("rope_theta", ropeTheta);
        m.put("tie_word_embeddings", tieWordEmbeddings);
        m.put("torch_dtype", torchDtype);
        m.put("transformers_version", "4.40.0");
        m.put("use_cache", true);
        m.put("vocab_size", vocabSize);
        Gson gson = new GsonBuilder().setPrettyPrinting().serializeNulls().create();
        return gson.toJson(m) + "\n";
    }
}
