package dev.woq.rag;

import java.util.List;

/**
 * What one indexing run did, file by file.
 *
 * @param files one outcome per file, in the order handled
 * @param seconds wall time of the run
 */
public record IndexReport(List<FileOutcome> files, double seconds) {
    public IndexReport {
        files = List.copyOf(files);
    }

    public long count(FileOutcome.Status status) {
        return files.stream().filter(f -> f.status() == status).count();
    }

    /** Whether some file or page could not be indexed. */
    public boolean skippedSomething() {
        return files.stream().anyMatch(FileOutcome::lostSomething);
    }

    public int pages() {
        return files.stream().mapToInt(FileOutcome::pages).sum();
    }

    public int chunks() {
        return files.stream().mapToInt(FileOutcome::chunks).sum();
    }
}
