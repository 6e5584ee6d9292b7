package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Splits a text into numbered parts at the lines a regex matches whole (chapter headings): each
 * part is its heading and the text up to the next one. Text before the first heading is a part of
 * its own (number 0, no heading) unless it is blank.
 */
final class ChapterSplitter {
    /** One part: its number (1 for the first heading), its heading line, its text without the heading. */
    record Part(int number, String heading, String text) { }

    private final Pattern heading;

    /** @param regex matched against whole lines, as in {@code CHAPTER .+}; null keeps the text whole */
    ChapterSplitter(String regex) {
        try {
            this.heading = regex == null ? null : Pattern.compile("^(?:" + regex + ")$", Pattern.MULTILINE);
        } catch (PatternSyntaxException e) {
            throw new ConfigException("--split-regex '" + regex + "' is not a regular expression: " + e.getDescription());
        }
    }

    List<Part> split(String text) {
        List<Part> parts = new ArrayList<>();
        if (heading == null) {
            parts.add(new Part(1, null, text.strip()));
            return parts;
        }
        Matcher m = heading.matcher(text);
        int number = 0;
        int bodyStart = 0;
        String title = null;
        while (m.find()) {
            add(parts, number, title, text.substring(bodyStart, m.start()));
            number++;
            title = m.group().strip();
            bodyStart = m.end();
        }
        add(parts, number, title, text.substring(bodyStart));
        return parts;
    }

    private static void add(List<Part> parts, int number, String title, String body) {
        // The front matter is kept only when it holds something; a chapter is kept even when empty (its row says so).
        if (number == 0 && body.isBlank()) {
            return;
        }
        parts.add(new Part(number, title, body.strip()));
    }
}
