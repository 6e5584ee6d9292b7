package dev.woq.rag;

import java.util.ArrayList;
import java.util.List;

/**
 * Windows of at most {@code size} characters, each cut at the last white space before the limit,
 * the next starting {@code overlap} characters before the previous end: the 500/50 recipe of
 * common Python stacks, kept to compare woq's token budgets against.
 */
final class CharWindowChunker implements Chunker {
    private final int size;
    private final int overlap;

    CharWindowChunker(int size, int overlap) {
        this.size = size;
        this.overlap = overlap;
    }

    @Override
    public List<Span> split(String text) {
        List<Span> spans = new ArrayList<>();
        int start = skipSpace(text, 0);
        while (start < text.length()) {
            int end = Math.min(text.length(), start + size);
            if (end < text.length()) {
                int cut = end;
                while (cut > start + size / 2 && !Character.isWhitespace(text.charAt(cut))) {
                    cut--;
                }
                if (cut > start + size / 2) {
                    end = cut;
                }
            }
            if (!text.substring(start, end).isBlank()) {
                spans.add(new Span(start, end));
            }
            if (end >= text.length()) {
                break;
            }
            int next = Math.max(start + 1, end - overlap);
            // Start the next window at a word, not inside one.
            while (next > start + 1 && next < end && !Character.isWhitespace(text.charAt(next - 1))) {
                next--;
            }
            start = skipSpace(text, next);
        }
        return spans;
    }

    private static int skipSpace(String text, int i) {
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        return i;
    }
}
