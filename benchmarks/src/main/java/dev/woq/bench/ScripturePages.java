package dev.woq.bench;

import dev.woq.rag.TextPdfWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Lays out the King James Genesis and Exodus (benchmarks/data, one verse a line as the Debian
 * package bible-kjv prints it: {@code Ge1:1 In the beginning...}) as pages of at most 2,200
 * characters, whole verses only, each chapter opened by a heading; then renders them to a PDF with
 * PDFBox. The page of every verse is known, which is what the questions' answer pages are.
 */
final class ScripturePages {
    static final int PAGE_CHARS = 2200;
    private static final Pattern VERSE = Pattern.compile("^(Ge|Exo)(\\d+):(\\d+) (.*)$");

    private final List<String> pages;
    private final Map<String, Integer> pageOfVerse;

    private ScripturePages(List<String> pages, Map<String, Integer> pageOfVerse) {
        this.pages = pages;
        this.pageOfVerse = pageOfVerse;
    }

    static ScripturePages layOut(Path text) throws IOException {
        List<String> pages = new ArrayList<>();
        Map<String, Integer> pageOf = new LinkedHashMap<>();
        StringBuilder page = new StringBuilder();
        String chapter = null;
        for (String line : Files.readAllLines(text, StandardCharsets.UTF_8)) {
            Matcher m = VERSE.matcher(line);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a verse line in " + text + ": " + line);
            }
            String book = m.group(1).equals("Ge") ? "Genesis" : "Exodus";
            String thisChapter = book + " " + m.group(2);
            String piece = (thisChapter.equals(chapter) ? "" : "\n\n" + thisChapter + "\n\n") + m.group(3) + " " + m.group(4) + " ";
            if (page.length() + piece.length() > PAGE_CHARS && page.length() > 0) {
                pages.add(page.toString().strip());
                page.setLength(0);
                if (thisChapter.equals(chapter)) {
                    piece = thisChapter + " (continued)\n\n" + piece;
                }
            }
            chapter = thisChapter;
            page.append(piece);
            pageOf.put(m.group(1) + m.group(2) + ":" + m.group(3), pages.size() + 1);
        }
        pages.add(page.toString().strip());
        return new ScripturePages(pages, pageOf);
    }

    /** The page (from 1) that holds a verse, by reference such as {@code Ge50:26}. */
    int pageOf(String verse) {
        Integer page = pageOfVerse.get(verse);
        if (page == null) {
            throw new IllegalArgumentException("no verse " + verse + " in the text");
        }
        return page;
    }

    int pageCount() {
        return pages.size();
    }

    long characters() {
        return pages.stream().mapToLong(String::length).sum();
    }

    Path writePdf(Path file) throws IOException {
        return TextPdfWriter.write(file, pages);
    }
}
