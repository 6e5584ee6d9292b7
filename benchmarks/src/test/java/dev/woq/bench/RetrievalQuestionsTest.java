package dev.woq.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.rag.DocumentReader;
import dev.woq.rag.SourceDocument;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retrieval benchmark's data: 179 pages, and every question's answer verse on the page the file says. */
class RetrievalQuestionsTest {
    private static final Path DATA = Path.of("data");

    @TempDir
    Path tmp;

    @Test
    void everyQuestionsAnswerVerseIsOnItsPageOfTheRenderedPdf() throws Exception {
        ScripturePages pages = ScripturePages.layOut(DATA.resolve("kjv-genesis-exodus.txt"));
        assertEquals(179, pages.pageCount());
        List<RetrievalBenchmark.Question> questions =
                RetrievalBenchmark.questions(DATA.resolve("kjv-questions.tsv"), pages);
        assertTrue(questions.size() >= 30, "questions: " + questions.size());
        // Read the PDF back as woq index does: the verse's opening words are on the stated page.
        SourceDocument pdf = new DocumentReader().read(pages.writePdf(tmp.resolve("kjv.pdf")));
        assertEquals(179, pdf.pages().size());
        Map<String, String> verses = new HashMap<>();
        for (String line : Files.readAllLines(DATA.resolve("kjv-genesis-exodus.txt"), StandardCharsets.UTF_8)) {
            int space = line.indexOf(' ');
            verses.put(line.substring(0, space), line.substring(space + 1));
        }
        for (RetrievalBenchmark.Question q : questions) {
            String opening = String.join(" ", Arrays.asList(verses.get(q.verse()).split(" ")).subList(0, 6));
            String page = pdf.pages().get(q.page() - 1).text().replaceAll("\\s+", " ");
            assertTrue(page.contains(opening), q.verse() + " '" + opening + "' not on page " + q.page());
        }
    }
}
