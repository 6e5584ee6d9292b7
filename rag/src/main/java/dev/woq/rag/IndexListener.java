package dev.woq.rag;

/** Hears indexing progress: a progress bar, a log. Calls come from the indexing thread. */
public interface IndexListener {
    /** {@code pages} more pages were read. */
    default void pagesRead(int pages) {}

    /** {@code chunks} more passages were embedded. */
    default void chunksEmbedded(int chunks) {}

    /** A file is done (committed, left alone, or skipped). */
    default void fileDone(FileOutcome outcome) {}

    IndexListener NONE = new IndexListener() {};
}
