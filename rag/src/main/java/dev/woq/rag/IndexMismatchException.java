package dev.woq.rag;

import dev.woq.runtime.WoqException;

/** An index built with another embedding model or other chunk settings than asked for. */
public final class IndexMismatchException extends WoqException {
    public IndexMismatchException(String message) {
        super(message);
    }
}
