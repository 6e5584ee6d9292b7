package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.*;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.woq.runtime.CheckpointException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llama 2's SentencePiece vocabulary both ways between Hugging Face's {@code tokenizer.json} (a BPE
 * model with {@code byte_fallback} and merges) and GGUF's {@code tokenizer.ggml.*} keys (model
 * {@code llama}: tokens, scores and token types, no merges).
 *
 * <p>SentencePiece merges the pair whose merged piece has the highest score; Hugging Face lists
 * the merges in that order. So a piece's score here is minus the rank of the first merge that
 * makes it, and the merges written back are every split of every piece into two vocabulary
 * pieces, ordered by score as Hugging Face's converter ({@code SentencePieceExtractor}) orders
 * them. Pieces no merge makes (characters, bytes, control tokens) score 0.
 *
 * @param tokens every token's text, by id ({@code ▁} for a space, {@code <0x0A>} for a byte)
 * @param scores every token's SentencePiece score, by id
 * @param types every token's {@link GgufKeys#TOKEN_NORMAL type}, by id
 */
public record Llama2Vocabulary(List<String> tokens, List<Float> scores, List<Integer> types) implements GgufVocabulary {

    private static final char SPACE = '\u2581';

    public Llama2Vocabulary {
        tokens = List.copyOf(tokens);
        scores = List.copyOf(scores);
        types = List.copyOf(types);
        if (tokens.size() != types.size() || tokens.size() != scores.size()) {
            throw new GgufException(tokens.size() + " tokens but " + scores.size() + " scores and " + types.size()
                    + " token types");
        }
    }

    /**
     * Reads a Llama 2 {@code tokenizer.json}, padding the vocabulary to {@code vocabSize} with
     * unused {@code [PAD<id>]} tokens as llama.cpp's converter does.
     *
     * @throws CheckpointException if the file cannot be read or is not such a tokenizer
     */
    public static Llama2Vocabulary fromTokenizerJson(Path file, int vocabSize) {
        JsonObject json = TokenizerJsonFiles.read(file);
        JsonObject model = json.getAsJsonObject("model");
        if (model == null || !model.has("vocab") || !model.has("merges")) {
            throw new CheckpointException(file + " has no BPE vocabulary and merges; it is not a Llama 2 tokenizer.json.");
        }
        String unk = model.has("unk_token") && !model.get("unk_token").isJsonNull() ? model.get("unk_token").getAsString() : "<unk>";
        Map<Integer, String> byId = new HashMap<>();
        Map<Integer, Integer> typeById = new HashMap<>();
        for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
            int id = e.getValue().getAsInt();
            byId.put(id, e.getKey());
            typeById.put(id, isByte(e.getKey()) ? TOKEN_BYTE : TOKEN_NORMAL);
        }
        if (json.has("added_tokens")) {
            for (JsonElement e : json.getAsJsonArray("added_tokens")) {
                JsonObject t = e.getAsJsonObject();
                int id = t.get("id").getAsInt();
                String content = t.get("content").getAsString();
                byId.put(id, content);
                boolean special = t.has("special") && t.get("special").getAsBoolean();
                typeById.put(id, content.equals(unk) ? TOKEN_UNKNOWN : special ? TOKEN_CONTROL : TOKEN_USER_DEFINED);
            }
        }
        Map<String, Integer> idByPiece = new HashMap<>();
        byId.forEach((id, piece) -> idByPiece.putIfAbsent(piece, id));
        int size = Math.max(vocabSize, byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1);
        float[] score = new float[size];
        boolean[] scored = new boolean[size];
        int rank = 0;
        for (JsonElement m : model.getAsJsonArray("merges")) {
            String merged = m.isJsonArray()
                    ? m.getAsJsonArray().get(0).getAsString() + m.getAsJsonArray().get(1).getAsString()
                    : m.getAsString().replaceFirst(" ", "");
            Integer id = idByPiece.get(merged);
            if (id != null && !scored[id]) {
                scored[id] = true;
                score[id] = -rank;
            }
            rank++;
        }
        List<String> tokens = new ArrayList<>(size);
        List<Float> scores = new ArrayList<>(size);
        List<Integer> types = new ArrayList<>(size);
        for (int id = 0; id < size; id++) {
            String t = byId.get(id);
            tokens.add(t != null ? t : "[PAD" + id + "]");
            scores.add(score[id]);
            types.add(t != null ? typeById.get(id) : TOKEN_UNUSED);
        }
        return new Llama2Vocabulary(tokens, scores, types);
    }

    /**
     * The vocabulary of a GGUF file whose {@code tokenizer.ggml.model} is {@code llama}. Missing
     * scores are 0 and missing types normal, as llama.cpp reads them.
     */
    public static Llama2Vocabulary read(GgufReader r) {
        String model = r.requireString(TOKENIZER_MODEL);
        if (!model.equals(TOKENIZER_LLAMA)) {
            throw new GgufException(r.path() + " has a '" + model + "' vocabulary, not SentencePiece's ('llama').");
        }
        List<String> tokens = new ArrayList<>();
        GgufValue tokenList = r.value(TOKENS).orElseThrow(() -> new GgufException(r.path() + " has no '" + TOKENS + "' metadata."));
        if (tokenList.elementType() != GgufValueType.STRING) {
            throw new GgufException(r.path() + ": '" + TOKENS + "' is not an array of strings.");
        }
        tokenList.asList().forEach(o -> tokens.add((String) o));
        List<Float> scores = new ArrayList<>();
        r.value(SCORES).ifPresent(v -> v.asList().forEach(o -> scores.add(((Number) o).floatValue())));
        if (scores.isEmpty()) {
            tokens.forEach(t -> scores.add(0f));
        }
        List<Integer> types = new ArrayList<>();
        r.value(TOKEN_TYPE).ifPresent(v -> v.asList().forEach(o -> types.add(((Number) o).intValue())));
        if (types.isEmpty()) {
            tokens.forEach(t -> types.add(isByte(t) ? TOKEN_BYTE : TOKEN_NORMAL));
        }
        if (scores.size() != tokens.size() || types.size() != tokens.size()) {
            throw new GgufException(r.path() + " has " + tokens.size() + " tokens but " + scores.size() + " scores and "
                    + types.size() + " token types: the file is damaged.");
        }
        return new Llama2Vocabulary(tokens, scores, types);
    }

    @Override
    public Map<String, GgufValue> metadata() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(TOKENIZER_MODEL, GgufValue.string(TOKENIZER_LLAMA));
        m.put(TOKENS, GgufValue.strings(tokens));
        m.put(SCORES, GgufValue.float32s(scores));
        m.put(TOKEN_TYPE, GgufValue.int32s(types));
        return m;
    }

    /** The scores as an array, for {@code Llama2Tokenizer.fromGgufVocabulary}. */
    public float[] scoreArray() {
        float[] out = new float[scores.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = scores.get(i);
        }
        return out;
    }

    /** The token types as an array, for {@code Llama2Tokenizer.fromGgufVocabulary}. */
    public int[] typeArray() {
        return types.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Hugging Face's {@code tokenizer.json} for this vocabulary, in the layout of meta-llama's Llama
     * 2 release: normal and byte pieces in a BPE model with {@code byte_fallback}, control and
     * user-defined tokens as added tokens, SentencePiece's normalization and decoding.
     */
    @Override
    public String toTokenizerJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        List<Map<String, Object>> added = new ArrayList<>();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        String unk = "<unk>";
        for (int id = 0; id < tokens.size(); id++) {
            int type = types.get(id);
            if (type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED || type == TOKEN_UNKNOWN || type == TOKEN_UNUSED) {
                added.add(TokenizerJsonFiles.orderedMap("id", id, "content", tokens.get(id), "single_word", false, "lstrip", false,
                        "rstrip", false, "normalized", type == TOKEN_USER_DEFINED, "special", type != TOKEN_USER_DEFINED));
                if (type == TOKEN_UNKNOWN) {
                    unk = tokens.get(id);
                }
            }
            // SentencePiece's vocabulary holds every piece, control ones included, as meta-llama's file does.
            if (type != TOKEN_UNUSED) {
                vocab.putIfAbsent(tokens.get(id), id);
            }
        }
        root.put("added_tokens", added);
        root.put("normalizer", TokenizerJsonFiles.orderedMap("type", "Sequence", "normalizers", List.of(
                TokenizerJsonFiles.orderedMap("type", "Prepend", "prepend", String.valueOf(SPACE)),
                TokenizerJsonFiles.orderedMap("type", "Replace", "pattern", Map.of("String", " "), "content", String.valueOf(SPACE)))));
        root.put("pre_tokenizer", null);
        root.put("post_processor", null);
        root.put("decoder", TokenizerJsonFiles.orderedMap("type", "Sequence", "decoders", List.of(
                TokenizerJsonFiles.orderedMap("type", "Replace", "pattern", Map.of("String", String.valueOf(SPACE)), "content", " "),
                TokenizerJsonFiles.orderedMap("type", "ByteFallback"),
                TokenizerJsonFiles.orderedMap("type", "Fuse"),
                TokenizerJsonFiles.orderedMap("type", "Strip", "content", " ", "start", 1, "stop", 0))));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", unk);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("vocab", vocab);
        model.put("merges", merges());
        root.put("model", model);
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root);
    }

    /**
     * The merges Hugging Face's {@code SentencePieceExtractor} derives: for each normal piece in id
     * order, every split into two vocabulary pieces (ordered by their ids), all stably sorted by
     * the piece's score, highest first.
     */
    List<String> merges() {
        Map<String, Integer> idByPiece = new HashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (types.get(id) != TOKEN_UNUSED) {
                idByPiece.putIfAbsent(tokens.get(id), id);
            }
        }
        record Merge(int left, int right, float score) {}
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (types.get(id) != TOKEN_NORMAL) {
                continue;
            }
            String piece = tokens.get(id);
            List<Merge> local = new ArrayList<>();
            for (int at = piece.offsetByCodePoints(0, 1); at < piece.length(); at = piece.offsetByCodePoints(at, 1)) {
                Integer left = idByPiece.get(piece.substring(0, at));
                Integer right = idByPiece.get(piece.substring(at));
                if (left != null && right != null) {
                    local.add(new Merge(left, right, scores.get(id)));
                }
            }
            local.sort(Comparator.comparingInt(Merge::left).thenComparingInt(Merge::right));
            merges.addAll(local);
        }
        merges.sort((a, b) -> Float.compare(b.score, a.score));
        List<String> out = new ArrayList<>(merges.size());
        for (Merge m : merges) {
            out.add(tokens.get(m.left) + " " + tokens.get(m.right));
        }
        return out;
    }

    private static boolean isByte(String piece) {
        return piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">");
    }
}
