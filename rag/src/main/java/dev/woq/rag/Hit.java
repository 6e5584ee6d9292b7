package dev.woq.rag;

import java.nio.file.Path;

/**
 * One retrieved passage.
 *
 * @param rank 1 for the best
 * @param score BM25 score, cosine similarity, or fused RRF score, by search mode
 * @param file the file it came from (absolute)
 * @param page its page number from 1, or 0 for a file without pages
 * @param start first character on the page (or in the file), inclusive
 * @param end last character, exclusive
 * @param text the passage
 */
public record Hit(int rank, double score, Path file, int page, int start, int end, String text) {
    /** The page for people and JSON: its number, or {@code null} for a file without pages. */
    public Integer pageOrNull() {
        return page > 0 ? page : null;
    }
}
