package dev.woq.runtime;

/**
 * Base of woq's errors that a user can act on: the message says what was wrong, with the path or
 * value seen, and what to do. The command line prints the message alone, without a stack trace.
 */
public class WoqException extends RuntimeException {
    public WoqException(String message) {
        super(message);
    }

    public WoqException(String message, Throwable cause) {
        super(message, cause);
    }
}
