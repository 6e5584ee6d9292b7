package dev.woq.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Turns generated token ids into text as they arrive, one id at a time.
 *
 * <p>A byte-level BPE token is a run of bytes, not of characters: a Chinese character or an
 * emoji is often split over two or three tokens. Decoding each token on its own would print
 * U+FFFD for the pieces, so this decoder keeps the bytes of an unfinished UTF-8 sequence until
 * the tokens that complete it arrive, and emits only whole characters. A surrogate pair is never
 * split across two outputs either. Bytes that can never become valid UTF-8 are emitted as U+FFFD
 * as soon as they are known to be invalid.
 *
 * <p>Llama 2's decoding drops the space SentencePiece puts in front of the first word; this
 * decoder drops it too, so the streamed pieces join to {@link Tokenizer#decode}'s text.
 *
 * <p>Not thread-safe: use one decoder per generated sequence.
 */
public final class StreamingDecoder {

    private final Tokenizer tokenizer;
    /** Whether a leading space is still to be dropped, as {@link Tokenizer#decode} drops it. */
    private boolean dropLeadingSpace;
    private final boolean skipSpecialTokens;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    /** Bytes received but not yet decoded: at most an incomplete UTF-8 sequence between calls. */
    private ByteBuffer pending = ByteBuffer.allocate(64);

    /**
     * Creates a decoder that skips special tokens, so {@code <|eot_id|>} and the like produce no
     * text.
     *
     * @param tokenizer the tokenizer whose ids will be pushed
     */
    public StreamingDecoder(Tokenizer tokenizer) {
        this(tokenizer, true);
    }

    /**
     * Creates a decoder.
     *
     * @param tokenizer the tokenizer whose ids will be pushed
     * @param skipSpecialTokens true to emit nothing for special tokens; false to emit their
     *     spelling, such as {@code "<|eot_id|>"}
     */
    public StreamingDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.skipSpecialTokens = skipSpecialTokens;
        this.dropLeadingSpace = tokenizer.decodeDropsLeadingSpace();
    }

    /**
     * Adds one token and returns the text it completes.
     *
     * @param id the next token id
     * @return the newly complete text, possibly empty while a character is still incomplete
     * @throws TokenizerException if the id is outside the vocabulary
     */
    public String push(int id) {
        byte[] bytes = tokenizer instanceof Llama3Tokenizer llama3
                ? llama3.tokenBytesShared(id) : tokenizer.tokenBytes(id);
        if (skipSpecialTokens && tokenizer.isSpecial(id)) {
            // Skipped tokens leave pending bytes alone: the next ordinary token may finish them.
            return "";
        }
        append(bytes);
        return dropLeadingSpace(decodePending(false));
    }

    /**
     * Emits whatever is still held back and resets the decoder for a new sequence. Held-back
     * bytes at this point are an unfinished character, which becomes U+FFFD.
     *
     * @return the remaining text, usually empty
     */
    public String flush() {
        String rest = dropLeadingSpace(decodePending(true));
        utf8.reset();
        pending.clear();
        dropLeadingSpace = tokenizer.decodeDropsLeadingSpace();
        return rest;
    }

    /** Drops the first space of a sequence's text where the tokenizer's decode does (Llama 2). */
    private String dropLeadingSpace(String text) {
        if (!dropLeadingSpace || text.isEmpty()) {
            return text;
        }
        dropLeadingSpace = false;
        return text.charAt(0) == ' ' ? text.substring(1) : text;
    }

    private void append(byte[] bytes) {
        if (pending.remaining() < bytes.length) {
            ByteBuffer bigger = ByteBuffer.allocate(
                    Math.max(pending.capacity() * 2, pending.position() + bytes.length));
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes);
    }

    /**
     * Decodes the pending bytes. Unless at the end of input, the JDK decoder stops before an
     * incomplete trailing sequence and leaves it in the buffer, which is exactly the hold-back.
     */
    private String decodePending(boolean endOfInput) {
        pending.flip();
        // One char per byte at most for UTF-8, plus room for a replacement at the end.
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 2);
        CoderResult result = utf8.decode(pending, out, endOfInput);
        if (result.isError() || result.isOverflow()) {
            // Cannot happen with REPLACE and a buffer sized for the worst case.
            throw new IllegalStateException("UTF-8 decoding failed: " + result);
        }
        if (endOfInput) {
            utf8.flush(out);
        }
        pending.compact();
        out.flip();
        return out.toString();
    }
}
