package dev.woq.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of a Hugging Face {@code tokenizer.json} that woq needs besides the native
 * tokenizer: the byte-level BPE vocabulary, the added tokens and the pre-tokenizer's split regex.
 *
 * <p>It streams the file with Gson's {@link JsonReader}: Llama 3's file is 9 MB, most of it the
 * 280,000 merges that only the native tokenizer needs, so building a whole JSON tree would waste
 * memory and time.
 */
final class TokenizerJsonReader {

    private final Map<String, Integer> vocab = new HashMap<>();
    private final List<AddedToken> addedTokens = new ArrayList<>();
    private String modelType;
    private String splitPattern;

    private record AddedToken(int id, String content, boolean special) {}

    private TokenizerJsonReader() {}

    /**
     * Parses a {@code tokenizer.json}.
     *
     * @param json the file's text
     * @return the vocabulary it describes
     * @throws IOException if reading fails
     * @throws IllegalArgumentException if the file is not a byte-level BPE tokenizer as expected;
     *     Gson's own exceptions for malformed JSON also pass through
     */
    static Vocabulary read(Reader json) throws IOException {
        TokenizerJsonReader reader = new TokenizerJsonReader();
        try (JsonReader in = new JsonReader(json)) {
            reader.readRoot(in);
        }
        return reader.toVocabulary();
    }

    private void readRoot(JsonReader in) throws IOException {
        in.beginObject();
        while (in.hasNext()) {
            switch (in.nextName()) {
                case "added_tokens" -> readAddedTokens(in);
                case "model" -> readModel(in);
                case "pre_tokenizer" -> {
                    JsonElement preTokenizer = JsonParser.parseReader(in);
                    splitPattern = findSplitRegex(preTokenizer);
                }
                default -> in.skipValue();
            }
        }
        in.endObject();
    }

    private void readAddedTokens(JsonReader in) throws IOException {
        in.beginArray();
        while (in.hasNext()) {
            JsonObject token = JsonParser.parseReader(in).getAsJsonObject();
            if (!token.has("id") || !token.has("content")) {
                throw new IllegalArgumentException("an entry of added_tokens lacks id or content");
            }
            boolean special = token.has("special") && token.get("special").getAsBoolean();
            addedTokens.add(new AddedToken(
                    token.get("id").getAsInt(), token.get("content").getAsString(), special));
        }
        in.endArray();
    }

    private void readModel(JsonReader in) throws IOException {
        in.beginObject();
        while (in.hasNext()) {
            switch (in.nextName()) {
                case "type" -> modelType = in.nextString();
                case "vocab" -> readVocab(in);
                default -> in.skipValue();
            }
        }
        in.endObject();
    }

    private void readVocab(JsonReader in) throws IOException {
        if (in.peek() != JsonToken.BEGIN_OBJECT) {
            throw new IllegalArgumentException("model.vocab is not an object of token to id, as a"
                    + " BPE tokenizer's is");
        }
        in.beginObject();
        while (in.hasNext()) {
            String token = in.nextName();
            vocab.put(token, in.nextInt());
        }
        in.endObject();
    }

    /** The first {@code Split} pre-tokenizer's regex, looking inside {@code Sequence}s. */
    private static String findSplitRegex(JsonElement node) {
        if (node == null || !node.isJsonObject()) {
            return null;
        }
        JsonObject object = node.getAsJsonObject();
        String type = object.has("type") ? object.get("type").getAsString() : "";
        if (type.equals("Split") && object.has("pattern")
                && object.get("pattern").isJsonObject()
                && object.getAsJsonObject("pattern").has("Regex")) {
            return object.getAsJsonObject("pattern").get("Regex").getAsString();
        }
        if (type.equals("Sequence") && object.has("pretokenizers")) {
            JsonArray parts = object.getAsJsonArray("pretokenizers");
            for (JsonElement part : parts) {
                String found = findSplitRegex(part);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private Vocabulary toVocabulary() {
        if (modelType != null && !modelType.equals("BPE")) {
            throw new IllegalArgumentException("model.type is " + modelType + ", not BPE");
        }
        if (vocab.isEmpty()) {
            throw new IllegalArgumentException("model.vocab is missing or empty");
        }
        int maxId = -1;
        for (int id : vocab.values()) {
            maxId = Math.max(maxId, checkedId(id));
        }
        for (AddedToken token : addedTokens) {
            maxId = Math.max(maxId, checkedId(token.id()));
        }

        byte[][] bytesById = new byte[maxId + 1][];
        Map<String, Integer> idBySpelling = new HashMap<>(vocab);
        for (Map.Entry<String, Integer> entry : vocab.entrySet()) {
            int id = entry.getValue();
            if (bytesById[id] != null) {
                throw new IllegalArgumentException("model.vocab gives id " + id + " to two tokens");
            }
            bytesById[id] = ByteLevelAlphabet.decode(entry.getKey());
        }
        // Added tokens are matched as whole strings before byte-level encoding, so their bytes
        // are their content's UTF-8, not a byte-level spelling; they win over a vocab entry.
        BitSet special = new BitSet(bytesById.length);
        String[] contents = new String[addedTokens.size()];
        for (int i = 0; i < contents.length; i++) {
            AddedToken token = addedTokens.get(i);
            bytesById[token.id()] = token.content().getBytes(StandardCharsets.UTF_8);
            idBySpelling.put(token.content(), token.id());
            special.set(token.id(), token.special());
            contents[i] = token.content();
        }
        return new Vocabulary(bytesById, idBySpelling, special, contents, splitPattern);
    }

    private static int checkedId(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("negative token id " + id);
        }
        return id;
    }
}
