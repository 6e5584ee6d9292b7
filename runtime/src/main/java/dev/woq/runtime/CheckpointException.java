package dev.woq.runtime;

/** A checkpoint on disk is missing, truncated, malformed or does not fit the model's config. */
public class CheckpointException extends WoqException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
