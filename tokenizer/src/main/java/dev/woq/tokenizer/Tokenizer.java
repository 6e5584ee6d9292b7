package dev.woq.tokenizer;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Text to token ids and back, for any tokenizer family woq runs: Llama 3's byte-level BPE
 * ({@link Llama3Tokenizer}) and Llama 2's SentencePiece BPE ({@link Llama2Tokenizer}).
 * {@link Tokenizers#load(Path)} picks the family from the file; {@link ChatFormats} picks the chat
 * format that goes with it.
 */
public interface Tokenizer extends AutoCloseable {

    /**
     * Which tokenizer this is.
     *
     * @return the family
     */
    TokenizerFamily family();

    /**
     * Where the tokenizer was read from: a {@code tokenizer.json}, or a GGUF file.
     *
     * @return the path
     */
    Path path();

    /**
     * Encodes text as plain text: no control tokens are added, and the spelling of a control
     * token inside it ({@code "<|eot_id|>"}, {@code "</s>"}) stays ordinary text, so message content
     * cannot inject control tokens.
     *
     * @param text the text
     * @return its token ids
     */
    int[] encode(String text);

    /**
     * Decodes token ids into text as the family's reference does (Llama 2 drops the space of the
     * first word, as SentencePiece does). Control tokens come out as their spelling.
     *
     * @param ids token ids
     * @return the text
     * @throws TokenizerException if an id is outside the vocabulary
     */
    String decode(int[] ids);

    /**
     * The exact bytes a token stands for, which may be part of a multi-byte UTF-8 character; for
     * control tokens the UTF-8 of their spelling.
     *
     * @param id a token id
     * @return a fresh copy of the bytes
     * @throws TokenizerException if the id is outside the vocabulary
     */
    byte[] tokenBytes(int id);

    /**
     * Whether {@link #decode} drops one leading space, as SentencePiece does for the dummy prefix
     * it adds when encoding; {@link StreamingDecoder} does the same so that streamed text equals
     * decoded text.
     *
     * @return true for Llama 2
     */
    default boolean decodeDropsLeadingSpace() {
        return false;
    }

    /**
     * The number of token ids, ordinary and special.
     *
     * @return one more than the highest token id
     */
    int vocabSize();

    /**
     * Looks up a token by its spelling in the vocabulary, such as {@code "<|eot_id|>"} or
     * {@code "</s>"}.
     *
     * @param token the spelling
     * @return its id, or empty if there is no such token
     */
    OptionalInt tokenId(String token);

    /**
     * Tells whether an id is a control token ({@code <s>}, {@code <|eot_id|>}, ...).
     *
     * @param id a token id
     * @return true for control tokens; false for ordinary ones and ids outside the vocabulary
     */
    boolean isSpecial(int id);

    /** Frees what the tokenizer holds; closing again does nothing. */
    @Override
    void close();
}
