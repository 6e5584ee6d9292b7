package dev.woq.rag;

import dev.woq.runtime.WoqException;
import java.nio.file.Path;

/** A file that cannot be indexed (corrupt, encrypted, no text, unreadable): indexing skips it. */
public final class UnreadableDocumentException extends WoqException {
    private final Path file;
    private final String reason;

    public UnreadableDocumentException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    /** Why, without the path. */
    public String reason() {
        return reason;
    }
}
