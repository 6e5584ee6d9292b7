package dev.woq.rag;

import java.nio.file.Path;

/**
 * What indexing did with one file.
 *
 * @param file the file (absolute)
 * @param status what happened
 * @param pages pages read (0 when nothing was read)
 * @param chunks passages stored
 * @param note why it was skipped, or a warning (pages without text); {@code null} if none
 */
public record FileOutcome(Path file, Status status, int pages, int chunks, String note) {
    /** What happened to a file. */
    public enum Status {
        /** New in the index. */
        ADDED,
        /** Its content changed: its passages were replaced. */
        REPLACED,
        /** Same content hash as indexed: left alone. */
        UNCHANGED,
        /** Could not be read: not in the index (an older version, if any, stays). */
        SKIPPED,
        /** Gone from disk: removed from the index by prune. */
        PRUNED
    }

    /** Whether something of this file is missing from the index: the whole file, or some pages. */
    public boolean lostSomething() {
        return status == Status.SKIPPED || note != null;
    }
}
