package dev.woq.tokenizer;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The Llama 2 tokenizer: SentencePiece BPE with byte fallback, in pure Java.
 *
 * <p>Encoding normalizes text as SentencePiece does for Llama 2 (a {@code ▁} is put in front, every
 * space becomes {@code ▁}), then merges characters into pieces ({@link SentencePieceBpe}); a
 * character the vocabulary lacks, such as most emoji, becomes the {@code <0xXX>} tokens of its
 * UTF-8 bytes. It reads either a Hugging Face {@code tokenizer.json} (a BPE model with
 * {@code byte_fallback}; pairs merge by the rank of their merge, as Hugging Face's tokenizers do)
 * or a GGUF vocabulary ({@code tokenizer.ggml.model = "llama"}; pairs merge by the score of the
 * merged piece, as llama.cpp does).
 *
 * <p>Immutable and safe for use from several threads.
 */
public final class Llama2Tokenizer implements Tokenizer {

    /** SentencePiece's meta symbol for a space. */
    static final char SPACE = '\u2581';

    /** GGUF token types, as llama.cpp numbers them. */
    private static final int TYPE_CONTROL = 3;
    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_BYTE = 6;

    private final Path path;
    private final String[] pieces;
    private final byte[][] bytesById;
    private final Map<String, Integer> idByPiece;
    private final BitSet special;
    private final SentencePieceBpe bpe;

    private Llama2Tokenizer(Path path, String[] pieces, BitSet special, BitSet byteTokens,
            SentencePieceBpe.PairPriority priority) {
        this.path = path;
        this.pieces = pieces;
        this.special = special;
        this.bytesById = new byte[pieces.length][];
        this.idByPiece = new HashMap<>(pieces.length * 2);
        Map<String, Integer> ordinary = new HashMap<>(pieces.length * 2);
        int[] byteIds = new int[256];
        Arrays.fill(byteIds, -1);
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            if (piece == null) {
                continue;
            }
            idByPiece.putIfAbsent(piece, id);
            int value = byteTokens.get(id) ? byteValue(piece) : -1;
            if (value >= 0) {
                byteIds[value] = id;
                bytesById[id] = new byte[] {(byte) value};
            } else {
                bytesById[id] = piece.replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
                if (!special.get(id)) {
                    ordinary.putIfAbsent(piece, id);
                }
            }
        }
        this.bpe = new SentencePieceBpe(ordinary, byteIds, priority);
    }

    /**
     * Loads a Llama 2 {@code tokenizer.json} (Hugging Face's layout: a BPE model with
     * {@code byte_fallback}, merges, and {@code <unk>}, {@code <s>}, {@code </s>} as added tokens).
     *
     * @param tokenizerJson the file, or a directory that holds {@code tokenizer.json}
     * @return the tokenizer
     * @throws TokenizerException if the file is missing, unreadable or not such a tokenizer
     */
    public static Llama2Tokenizer load(Path tokenizerJson) {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        Path file = Files.isDirectory(tokenizerJson)
                ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("Llama 2 tokenizer not found: " + file + " does not"
                    + " exist or is not a file; run scripts/fetch-tokenizer.sh, or point at the"
                    + " tokenizer.json that came with the model");
        }
        Llama2Json json;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            json = Llama2Json.read(reader);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("Llama 2 tokenizer " + file + " is not a valid"
                    + " SentencePiece-style tokenizer.json (" + e.getMessage() + ")", e);
        }
        Map<String, Integer> rankByPair = new HashMap<>(json.merges.size() * 2);
        for (int rank = 0; rank < json.merges.size(); rank++) {
            rankByPair.putIfAbsent(json.merges.get(rank), rank);
        }
        // Hugging Face merges a pair only if it is a listed merge, lowest rank first.
        SentencePieceBpe.PairPriority byRank = (left, right) -> {
            Integer rank = rankByPair.get(left + ' ' + right);
            return rank == null ? Double.NaN : -rank;
        };
        BitSet bytes = new BitSet();
        for (int id = 0; id < json.pieces.length; id++) {
            if (json.pieces[id] != null && !json.special.get(id) && byteValue(json.pieces[id]) >= 0) {
                bytes.set(id);
            }
        }
        return new Llama2Tokenizer(file, json.pieces, json.special, bytes, byRank);
    }

    /**
     * Builds the tokenizer from a GGUF's SentencePiece vocabulary ({@code tokenizer.ggml.tokens},
     * {@code .scores}, {@code .token_type}): a pair merges when the vocabulary has their
     * concatenation, the piece with the highest score first, as llama.cpp's
     * {@code llm_tokenizer_spm} does.
     *
     * @param source the GGUF file, for messages
     * @param tokens every token's text by id ({@code ▁} for a space, {@code <0x0A>} for a byte)
     * @param scores every token's score by id
     * @param types every token's GGUF type by id (1 normal, 2 unknown, 3 control, 6 byte, ...)
     * @return the tokenizer
     * @throws TokenizerException if the lists differ in length
     */
    public static Llama2Tokenizer fromGgufVocabulary(Path source, List<String> tokens,
            float[] scores, int[] types) {
        Objects.requireNonNull(tokens, "tokens");
        if (scores.length != tokens.size() || types.length != tokens.size()) {
            throw new TokenizerException(source + ": the SentencePiece vocabulary has "
                    + tokens.size() + " tokens but " + scores.length + " scores and "
                    + types.length + " token types; the file is damaged");
        }
        String[] pieces = tokens.toArray(new String[0]);
        Map<String, Integer> idByPiece = new HashMap<>(pieces.length * 2);
        BitSet special = new BitSet();
        BitSet bytes = new BitSet();
        for (int id = 0; id < pieces.length; id++) {
            idByPiece.putIfAbsent(pieces[id], id);
            if (types[id] == TYPE_CONTROL || types[id] == TYPE_UNKNOWN) {
                special.set(id);
            } else if (types[id] == TYPE_BYTE) {
                bytes.set(id);
            }
        }
        float[] copy = scores.clone();
        SentencePieceBpe.PairPriority byScore = (left, right) -> {
            Integer id = idByPiece.get(left + right);
            return id == null ? Double.NaN : copy[id];
        };
        return new Llama2Tokenizer(source, pieces, special, bytes, byScore);
    }

    @Override
    public TokenizerFamily family() {
        return TokenizerFamily.LLAMA2;
    }

    @Override
    public Path path() {
        return path;
    }

    /**
     * Encodes text as SentencePiece does for Llama 2 with its defaults: a space is put in front
     * (the dummy prefix), no {@code <s>} is added, and {@code "</s>"} in the text is plain text.
     */
    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isEmpty()) {
            return new int[0];
        }
        return bpe.tokenize(SPACE + text.replace(' ', SPACE));
    }

    /** Decodes as SentencePiece does: pieces and bytes joined, one leading space dropped. */
    @Override
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            out.writeBytes(bytes(id));
        }
        String text = out.toString(StandardCharsets.UTF_8);
        return text.startsWith(" ") ? text.substring(1) : text;
    }

    @Override
    public boolean decodeDropsLeadingSpace() {
        return true;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return bytes(id).clone();
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public OptionalInt tokenId(String token) {
        Integer id = idByPiece.get(Objects.requireNonNull(token, "token"));
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && special.get(id);
    }

    /** Holds nothing native: closing does nothing. */
    @Override
    public void close() {}

    private byte[] bytes(int id) {
        if (id < 0 || id >= bytesById.length || bytesById[id] == null) {
            throw new TokenizerException("token id " + id + " is not in the tokenizer's vocabulary"
                    + " (ids 0.." + (bytesById.length - 1) + "); the model and " + path
                    + " probably do not belong together");
        }
        return bytesById[id];
    }

    /** The byte a {@code <0xXX>} piece stands for, or -1 for any other piece. */
    private static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        try {
            return Integer.parseInt(piece.substring(3, 5), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The parts of a Llama 2 {@code tokenizer.json} the tokenizer needs, streamed with Gson. */
    private static final class Llama2Json {
        String[] pieces = new String[0];
        final BitSet special = new BitSet();
        final java.util.ArrayList<String> merges = new java.util.ArrayList<>();
        private final Map<Integer, String> byId = new HashMap<>();
        private boolean byteFallback;
        private String modelType;

        static Llama2Json read(Reader reader) throws IOException {
            Llama2Json json = new Llama2Json();
            try (JsonReader in = new JsonReader(reader)) {
                in.beginObject();
                while (in.hasNext()) {
                    switch (in.nextName()) {
                        case "added_tokens" -> json.readAddedTokens(in);
                        case "model" -> json.readModel(in);
                        default -> in.skipValue();
                    }
                }
                in.endObject();
            }
            if (!"BPE".equals(json.modelType) || !json.byteFallback) {
                throw new IllegalArgumentException("its model is " + json.modelType
                        + (json.byteFallback ? "" : " without byte_fallback")
                        + ", not a BPE with byte_fallback as Llama 2's");
            }
            int size = json.byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
            json.pieces = new String[size];
            json.byId.forEach((id, piece) -> json.pieces[id] = piece);
            return json;
        }

        private void readAddedTokens(JsonReader in) throws IOException {
            in.beginArray();
            while (in.hasNext()) {
                Integer id = null;
                String content = null;
                boolean isSpecial = false;
                in.beginObject();
                while (in.hasNext()) {
                    switch (in.nextName()) {
                        case "id" -> id = in.nextInt();
                        case "content" -> content = in.nextString();
                        case "special" -> isSpecial = in.nextBoolean();
                        default -> in.skipValue();
                    }
                }
                in.endObject();
                if (id == null || content == null) {
                    throw new IllegalArgumentException("an entry of added_tokens lacks id or content");
                }
                byId.put(id, content);
                if (isSpecial) {
                    special.set(id);
                }
            }
            in.endArray();
        }

        private void readModel(JsonReader in) throws IOException {
            in.beginObject();
            while (in.hasNext()) {
                switch (in.nextName()) {
                    case "type" -> modelType = in.nextString();
                    case "byte_fallback" -> {
                        if (in.peek() == JsonToken.NULL) {
                            in.nextNull();
                        } else {
                            byteFallback = in.nextBoolean();
                        }
                    }
                    case "vocab" -> {
                        in.beginObject();
                        while (in.hasNext()) {
                            String piece = in.nextName();
                            byId.putIfAbsent(in.nextInt(), piece);
                        }
                        in.endObject();
                    }
                    case "merges" -> {
                        in.beginArray();
                        while (in.hasNext()) {
                            if (in.peek() == JsonToken.BEGIN_ARRAY) {
                                in.beginArray();
                                String left = in.nextString();
                                String right = in.nextString();
                                in.endArray();
                                merges.add(left + ' ' + right);
                            } else {
                                merges.add(in.nextString());
                            }
                        }
                        in.endArray();
                    }
                    default -> in.skipValue();
                }
            }
            in.endObject();
        }
    }
}
