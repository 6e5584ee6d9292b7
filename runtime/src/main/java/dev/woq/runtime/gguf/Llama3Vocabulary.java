package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.*;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.woq.runtime.CheckpointException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llama 3's byte-level BPE vocabulary both ways between Hugging Face's {@code tokenizer.json} and
 * GGUF's {@code tokenizer.ggml.*} keys (model {@code gpt2}, pre-tokenizer {@code llama-bpe}): tokens
 * by id, their types (normal, or control for the special added tokens), and the merges.
 *
 * @param tokens every token's text, by id (byte-level: {@code Ġ} for a space)
 * @param types every token's {@link GgufKeys#TOKEN_NORMAL type}, by id
 * @param merges the BPE merges, {@code "a b"}, by rank
 */
public record Llama3Vocabulary(List<String> tokens, List<Integer> types, List<String> merges) implements GgufVocabulary {
    /** Llama 3's pre-tokenizer split (tiktoken's cl100k pattern with 1-3 digit numbers). */
    private static final String SPLIT_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    public Llama3Vocabulary {
        tokens = List.copyOf(tokens);
        types = List.copyOf(types);
        merges = List.copyOf(merges);
        if (tokens.size() != types.size()) {
            throw new GgufException(tokens.size() + " tokens but " + types.size() + " token types");
        }
    }

    /**
     * Reads {@code tokenizer.json}, padding the vocabulary to {@code vocabSize} with unused
     * {@code [PAD<id>]} tokens as llama.cpp's converter does.
     */
    public static Llama3Vocabulary fromTokenizerJson(Path file, int vocabSize) {
        JsonObject json = TokenizerJsonFiles.read(file);
        JsonObject model = json.getAsJsonObject("model");
        if (model == null || !model.has("type") || !model.get("type").getAsString().equals("BPE")) {
            throw new CheckpointException(file + " is not a BPE tokenizer (Llama 3's); woq exports Llama 3 vocabularies only.");
        }
        Map<Integer, String> byId = new LinkedHashMap<>();
        Map<Integer, Integer> typeById = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
            byId.put(e.getValue().getAsInt(), e.getKey());
            typeById.put(e.getValue().getAsInt(), TOKEN_NORMAL);
        }
        if (json.has("added_tokens")) {
            for (JsonElement e : json.getAsJsonArray("added_tokens")) {
                JsonObject t = e.getAsJsonObject();
                int id = t.get("id").getAsInt();
                byId.put(id, t.get("content").getAsString());
                typeById.put(id, t.has("special") && t.get("special").getAsBoolean() ? TOKEN_CONTROL : TOKEN_USER_DEFINED);
            }
        }
        int size = Math.max(vocabSize, byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1);
        List<String> tokens = new ArrayList<>(size);
        List<Integer> types = new ArrayList<>(size);
        for (int id = 0; id < size; id++) {
            String t = byId.get(id);
            tokens.add(t != null ? t : "[PAD" + id + "]");
            types.add(t != null ? typeById.get(id) : TOKEN_UNUSED);
        }
        List<String> merges = new ArrayList<>();
        for (JsonElement m : model.getAsJsonArray("merges")) {
            // "a b" in older files, ["a", "b"] in tokenizers >= 0.20
            merges.add(m.isJsonArray() ? m.getAsJsonArray().get(0).getAsString() + " " + m.getAsJsonArray().get(1).getAsString()
                    : m.getAsString());
        }
        return new Llama3Vocabulary(tokens, types, merges);
    }

    /** The tokenizer keys of a GGUF (without the bos/eos ids and chat template). */
    @Override
    public Map<String, GgufValue> metadata() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(TOKENIZER_MODEL, GgufValue.string(TOKENIZER_GPT2));
        m.put(TOKENIZER_PRE, GgufValue.string(PRE_LLAMA3));
        m.put(TOKENS, GgufValue.strings(tokens));
        m.put(TOKEN_TYPE, GgufValue.int32s(types));
        m.put(MERGES, GgufValue.strings(merges));
        return m;
    }

    /**
     * The vocabulary of a GGUF file.
     *
     * @throws GgufException for a vocabulary woq cannot rebuild (SentencePiece, another pre-tokenizer)
     */
    public static Llama3Vocabulary read(GgufReader r) {
        String model = r.requireString(TOKENIZER_MODEL);
        if (model.equals(TOKENIZER_LLAMA)) {
            throw new GgufException(r.path() + " has a SentencePiece vocabulary (tokenizer.ggml.model 'llama', Llama 2):"
                    + " woq imports Llama 3's BPE vocabulary only so far.");
        }
        String pre = r.value(TOKENIZER_PRE).map(v -> (String) v.value()).orElse("default");
        if (!model.equals(TOKENIZER_GPT2) || !(pre.equals(PRE_LLAMA3) || pre.equals("llama3"))) {
            throw new GgufException(r.path() + " has a '" + model + "' vocabulary with pre-tokenizer '" + pre
                    + "': woq imports Llama 3's ('gpt2' with 'llama-bpe') only.");
        }
        List<String> tokens = strings(r, TOKENS);
        List<Integer> types = new ArrayList<>();
        for (Object o : r.value(TOKEN_TYPE).map(GgufValue::asList).orElse(List.of())) {
            types.add(((Number) o).intValue());
        }
        if (types.isEmpty()) {
            tokens.forEach(t -> types.add(TOKEN_NORMAL));
        }
        return new Llama3Vocabulary(tokens, types, strings(r, MERGES));
    }

    private static List<String> strings(GgufReader r, String key) {
        List<String> out = new ArrayList<>();
        GgufValue v = r.value(key).orElseThrow(() -> new GgufException(r.path() + " has no '" + key + "' metadata."));
        if (v.elementType() != GgufValueType.STRING) {
            throw new GgufException(r.path() + ": '" + key + "' is not an array of strings.");
        }
        v.asList().forEach(o -> out.add((String) o));
        return out;
    }

    /**
     * Hugging Face's {@code tokenizer.json} for this vocabulary, as Meta's Llama 3 release has it:
     * normal and byte tokens in the BPE model, control and user-defined tokens as added tokens.
     */
    @Override
    public String toTokenizerJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        List<Map<String, Object>> added = new ArrayList<>();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            int type = types.get(id);
            if (type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED || type == TOKEN_UNUSED) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("id", id);
                t.put("content", tokens.get(id));
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", type == TOKEN_USER_DEFINED);
                t.put("special", type != TOKEN_USER_DEFINED);
                added.add(t);
            } else {
                vocab.put(tokens.get(id), id);
            }
        }
        root.put("added_tokens", added);
        root.put("normalizer", null);
        root.put("pre_tokenizer", Map.of("type", "Sequence", "pretokenizers", List.of(
                TokenizerJsonFiles.orderedMap("type", "Split", "pattern", Map.of("Regex", SPLIT_REGEX), "behavior", "Isolated", "invert", false),
                TokenizerJsonFiles.orderedMap("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", false))));
        root.put("post_processor", TokenizerJsonFiles.orderedMap("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", false,
                "use_regex", true));
        root.put("decoder", TokenizerJsonFiles.orderedMap("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", true);
        model.put("vocab", vocab);
        model.put("merges", merges);
        root.put("model", model);
        Gson gson = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
        return gson.toJson(root);
    }
}
