package dev.woq.tokenizer;

import java.util.BitSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What {@code tokenizer.json} says about each token id: the raw bytes it stands for, its spelling,
 * and whether it is a special (control) token. Immutable once built by {@link TokenizerJsonReader}.
 *
 * <p>The native Hugging Face tokenizer does the encoding; this table exists because streaming
 * detokenization needs each token's exact bytes, which the native API does not expose.
 */
final class Vocabulary {

    private final byte[][] bytesById;
    private final Map<String, Integer> idBySpelling;
    private final BitSet special;
    private final String[] addedTokenContents;
    private final String splitPattern;

    /**
     * @param bytesById raw bytes per id; {@code null} where no token has that id
     * @param idBySpelling every token's spelling in {@code tokenizer.json} to its id
     * @param special ids of the added tokens marked special
     * @param addedTokenContents the content of every added token
     * @param splitPattern the pre-tokenizer's split regex, or {@code null} where there is none
     */
    Vocabulary(byte[][] bytesById, Map<String, Integer> idBySpelling, BitSet special,
            String[] addedTokenContents, String splitPattern) {
        this.bytesById = bytesById;
        this.idBySpelling = Map.copyOf(idBySpelling);
        this.special = (BitSet) special.clone();
        this.addedTokenContents = addedTokenContents.clone();
        this.splitPattern = splitPattern;
    }

    /** Number of ids: one more than the highest id of any token. */
    int size() {
        return bytesById.length;
    }

    /**
     * The raw bytes of a token, not copied: callers must not modify the array.
     *
     * @throws TokenizerException if no token has this id
     */
    byte[] bytes(int id) {
        if (id < 0 || id >= bytesById.length || bytesById[id] == null) {
            throw new TokenizerException("token id " + id + " is not in the tokenizer's vocabulary"
                    + " (ids 0.." + (bytesById.length - 1) + "); the model and tokenizer.json"
                    + " probably do not belong together");
        }
        return bytesById[id];
    }

    OptionalInt id(String spelling) {
        Integer id = idBySpelling.get(spelling);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    boolean isSpecial(int id) {
        return id >= 0 && special.get(id);
    }

    /** Contents of the added tokens, which the native tokenizer matches before anything else. */
    String[] addedTokenContents() {
        return addedTokenContents.clone();
    }

    /** The regex the pre-tokenizer splits text with, if the tokenizer has one. */
    Optional<String> splitPattern() {
        return Optional.ofNullable(splitPattern);
    }
}
