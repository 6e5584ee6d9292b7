package dev.woq.spark;

import dev.woq.runtime.WoqException;

/** A job that cannot run as asked (a missing column, a model an executor cannot read), said before or instead of per-row errors. */
public class WoqSparkException extends WoqException {
    public WoqSparkException(String message) {
        super(message);
    }

    public WoqSparkException(String message, Throwable cause) {
        super(message, cause);
    }
}
