package dev.woq.tokenizer;

/**
 * An error of the tokenizer module that a user can act on: a missing or malformed tokenizer file,
 * a token the tokenizer lacks, or an id outside its vocabulary. The message names the path or value
 * seen and says what to do.
 *
 * <p>It is a {@link RuntimeException} of its own, rather than a subclass of woq's runtime errors,
 * so that this module stays usable without the runtime module.
 */
public class TokenizerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong and what to do about it
     */
    public TokenizerException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and the underlying cause.
     *
     * @param message what went wrong and what to do about it
     * @param cause the error that caused it
     */
    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
