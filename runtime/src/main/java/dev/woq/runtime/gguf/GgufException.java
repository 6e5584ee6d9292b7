package dev.woq.runtime.gguf;

import dev.woq.runtime.CheckpointException;

/** A GGUF file is malformed, truncated, of an old format, or holds something woq does not read. */
public class GgufException extends CheckpointException {
    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}
