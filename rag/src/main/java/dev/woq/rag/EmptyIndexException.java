package dev.woq.rag;

import dev.woq.runtime.WoqException;

/** A search or question over an index that does not exist or holds no passages. */
public final class EmptyIndexException extends WoqException {
    public EmptyIndexException(String message) {
        super(message);
    }
}
