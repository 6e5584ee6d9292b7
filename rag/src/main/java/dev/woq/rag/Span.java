package dev.woq.rag;

/**
 * A passage of a page: characters {@code [start, end)} of the page's text.
 *
 * @param start first character, inclusive
 * @param end last character, exclusive
 */
public record Span(int start, int end) {
    /** The passage's text with runs of white space as one space, as it is embedded and shown. */
    public String text(String page) {
        return page.substring(start, end).replaceAll("\\s+", " ").strip();
    }
}
