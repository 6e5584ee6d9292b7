package dev.woq.rag;

import java.nio.file.Path;
import java.util.List;

/**
 * A file as read: its pages and the hash of its bytes (what incremental indexing compares).
 *
 * @param file the file, absolute and normalized
 * @param sha256 hex SHA-256 of the file's bytes
 * @param pages the pages that have text
 * @param pagesWithoutText PDF pages with no text layer (scanned), ascending
 */
public record SourceDocument(Path file, String sha256, List<Page> pages, List<Integer> pagesWithoutText) {
    public SourceDocument {
        pages = List.copyOf(pages);
        pagesWithoutText = List.copyOf(pagesWithoutText);
    }

    /** Characters over all pages. */
    public long characters() {
        return pages.stream().mapToLong(p -> p.text().length()).sum();
    }
}
