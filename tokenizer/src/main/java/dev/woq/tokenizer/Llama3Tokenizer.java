package dev.woq.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.regex.PatternSyntaxException;

/**
 * The Llama 3 tokenizer: text to token ids and back, read from the model's {@code tokenizer.json}.
 *
 * <p>Encoding runs in Hugging Face's native tokenizers library through DJL, whose jar carries
 * the native code, so it works offline. It is configured to add nothing by itself (no
 * {@code <|begin_of_text|>}, no truncation, no padding): {@link Llama3ChatTemplate} decides
 * which control tokens a prompt gets, as Meta's reference does.
 *
 * <p>Decoding does not go through the native library: each token's raw bytes are read from
 * {@code tokenizer.json} once ({@link #tokenBytes(int)}), so decoding is a concatenation and
 * {@link StreamingDecoder} can hold back a character whose bytes span several tokens.
 *
 * <p>Instances are safe for use from several threads until {@link #close()}d. Loading sets the
 * system property {@code OPT_OUT_TRACKING=true} unless it or the environment variable of that
 * name is already set: DJL otherwise asks the cloud instance-metadata address for telemetry on
 * each load, and woq must not send traffic anywhere.
 */
public final class Llama3Tokenizer implements Tokenizer {

    private static final String HOW_TO_GET_ONE =
            "run scripts/fetch-tokenizer.sh, or point at the tokenizer.json that came with the model";

    /** The native tokenizer must add nothing: the chat template owns every control token. */
    private static final Map<String, String> NATIVE_OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");

    private final Path path;
    private final HuggingFaceTokenizer tokenizer;
    private final Vocabulary vocabulary;
    private final String[] addedTokenContents;
    private final PreTokenizerSplit split;
    private volatile boolean closed;

    private Llama3Tokenizer(Path path, HuggingFaceTokenizer tokenizer, Vocabulary vocabulary,
            PreTokenizerSplit split) {
        this.path = path;
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
        this.addedTokenContents = vocabulary.addedTokenContents();
        this.split = split;
    }

    /**
     * Loads a tokenizer from a Hugging Face {@code tokenizer.json}, such as the one that
     * {@code scripts/fetch-tokenizer.sh} installs or the one shipped with a Llama 3 checkpoint.
     *
     * @param tokenizerJson the {@code tokenizer.json} file, or a directory that holds one
     * @return the loaded tokenizer; close it to free its native memory
     * @throws TokenizerException if the file is missing, unreadable or not a valid byte-level BPE
     *     tokenizer; the message names the path and says how to get a good one
     */
    public static Llama3Tokenizer load(Path tokenizerJson) {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        Path file = Files.isDirectory(tokenizerJson)
                ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("Llama 3 tokenizer not found: " + file
                    + " does not exist or is not a file; " + HOW_TO_GET_ONE);
        }
        if (!Files.isReadable(file)) {
            throw new TokenizerException("Llama 3 tokenizer " + file + " cannot be read"
                    + " (check its permissions); " + HOW_TO_GET_ONE);
        }

        Vocabulary vocabulary;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            vocabulary = TokenizerJsonReader.read(reader);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("Llama 3 tokenizer " + file + " is not a valid"
                    + " tokenizer.json (" + e.getMessage() + "); " + HOW_TO_GET_ONE, e);
        }

        PreTokenizerSplit split = null;
        if (vocabulary.splitPattern().isPresent()) {
            try {
                split = PreTokenizerSplit.compile(vocabulary.splitPattern().get());
            } catch (PatternSyntaxException e) {
                // Only needed for text that spells out special tokens; encode() reports it then.
                split = null;
            }
        }

        optOutOfDjlTelemetry();
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, NATIVE_OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException("Llama 3 tokenizer " + file + " could not be loaded by"
                    + " the Hugging Face tokenizers library (" + e.getMessage() + "); "
                    + HOW_TO_GET_ONE, e);
        } catch (LinkageError e) {
            throw new TokenizerException("the native Hugging Face tokenizers library that DJL"
                    + " ships could not be loaded on this platform (" + e + ")", e);
        }
        return new Llama3Tokenizer(file, tokenizer, vocabulary, split);
    }

    private static void optOutOfDjlTelemetry() {
        if (System.getenv("OPT_OUT_TRACKING") == null
                && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    @Override
    public TokenizerFamily family() {
        return TokenizerFamily.LLAMA3;
    }

    /**
     * The {@code tokenizer.json} this tokenizer was loaded from.
     *
     * @return the file's path
     */
    @Override
    public Path path() {
        return path;
    }

    /**
     * Encodes text as Meta's reference tokenizer does by default: no control tokens are added,
     * and text that spells a special token, such as {@code "<|eot_id|>"}, is encoded as ordinary
     * text rather than as that token, so message content cannot inject control tokens.
     *
     * @param text the text
     * @return its token ids
     */
    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        if (!spellsAddedToken(text)) {
            return encodeNative(text);
        }
        if (split == null) {
            throw new TokenizerException("cannot encode text that spells a special token as"
                    + " plain text: " + path + " has no pre-tokenizer split regex that Java can"
                    + " compile");
        }
        // Each pre-tokenizer piece is encoded alone; none can hold a whole special token.
        List<String> pieces = split.split(text);
        Encoding[] encodings = batchEncodeNative(pieces);
        List<int[]> parts = new ArrayList<>(encodings.length);
        int total = 0;
        for (int i = 0; i < encodings.length; i++) {
            int[] ids = toInts(encodings[i].getIds());
            for (int id : ids) {
                if (vocabulary.isSpecial(id)) {
                    throw new TokenizerException("cannot encode " + quoted(pieces.get(i))
                            + " as plain text: the tokenizer turns it into special token " + id);
                }
            }
            parts.add(ids);
            total += ids.length;
        }
        int[] all = new int[total];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /**
     * Encodes text, turning every spelling of a special token in it into that control token, as
     * Hugging Face tokenizers do. Use it for raw prompts written in Llama 3's prompt format;
     * use {@link #encode(String)} for anything a user typed.
     *
     * @param text the text, possibly with special tokens spelled out
     * @return its token ids
     */
    public int[] encodeWithSpecialTokens(String text) {
        Objects.requireNonNull(text, "text");
        return encodeNative(text);
    }

    /**
     * Decodes token ids into text: the tokens' bytes, concatenated, read as UTF-8. Special tokens
     * come out as their spelling ({@code "<|eot_id|>"}), as in Meta's reference. Bytes that are
     * not valid UTF-8 (such as a character cut off at the end) become U+FFFD.
     *
     * @param ids token ids
     * @return the text
     * @throws TokenizerException if an id is outside the vocabulary
     */
    @Override
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        int length = 0;
        for (int id : ids) {
            length += vocabulary.bytes(id).length;
        }
        byte[] bytes = new byte[length];
        int at = 0;
        for (int id : ids) {
            byte[] token = vocabulary.bytes(id);
            System.arraycopy(token, 0, bytes, at, token.length);
            at += token.length;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The exact bytes a token stands for. For ordinary tokens these are the bytes of the
     * byte-level BPE vocabulary entry, which may be part of a multi-byte UTF-8 character; for
     * special tokens they are the UTF-8 of their spelling.
     *
     * @param id a token id
     * @return a fresh copy of the token's bytes
     * @throws TokenizerException if the id is outside the vocabulary
     */
    @Override
    public byte[] tokenBytes(int id) {
        return vocabulary.bytes(id).clone();
    }

    /** The token's bytes without a defensive copy, for decoders in this package. */
    byte[] tokenBytesShared(int id) {
        return vocabulary.bytes(id);
    }

    /**
     * The number of token ids, ordinary and special: 128,256 for Llama 3.
     *
     * @return one more than the highest token id
     */
    @Override
    public int vocabSize() {
        return vocabulary.size();
    }

    /**
     * Looks up a token by its spelling in {@code tokenizer.json}: a special token's content
     * (e.g. {@code "<|eot_id|>"} → 128009) or a vocabulary entry in byte-level spelling
     * (e.g. {@code "Ġthe"}).
     *
     * @param token the spelling
     * @return its id, or empty if the tokenizer has no such token
     */
    @Override
    public OptionalInt tokenId(String token) {
        Objects.requireNonNull(token, "token");
        return vocabulary.id(token);
    }

    /**
     * Tells whether an id is a special (control) token, such as {@code <|begin_of_text|>},
     * {@code <|eot_id|>} or a reserved token.
     *
     * @param id a token id
     * @return true for special tokens; false for ordinary tokens and ids outside the vocabulary
     */
    @Override
    public boolean isSpecial(int id) {
        return vocabulary.isSpecial(id);
    }

    /** Frees the native tokenizer. Further encoding fails; closing again does nothing. */
    @Override
    public void close() {
        closed = true;
        tokenizer.close();
    }

    private boolean spellsAddedToken(String text) {
        for (String content : addedTokenContents) {
            if (!content.isEmpty() && text.contains(content)) {
                return true;
            }
        }
        return false;
    }

    private int[] encodeNative(String text) {
        checkOpen();
        return toInts(tokenizer.encode(text, false, false).getIds());
    }

    private Encoding[] batchEncodeNative(List<String> texts) {
        checkOpen();
        return tokenizer.batchEncode(texts, false, false);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("Llama3Tokenizer for " + path + " is closed");
        }
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    private static String quoted(String text) {
        return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
