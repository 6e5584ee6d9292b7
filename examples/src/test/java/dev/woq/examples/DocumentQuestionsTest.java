package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.rag.Answer;
import dev.woq.rag.TextPdfWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DocumentQuestions}: index a PDF, search it, ask with a streamed answer and page citations. */
class DocumentQuestionsTest {
    @TempDir
    Path tmp;

    @Test
    void indexesOnceSearchesAndAnswersCitingTheRightPage() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("docs/rules.pdf"), List.of(
                "House rules. Quiet hours start at ten in the evening.",
                "Waste. Glass bottles go into the green container in the courtyard.",
                "Safety. The fire assembly point is the parking lot behind the bakery."));
        Path model = ExampleCheckpoints.tiny(tmp.resolve("tiny"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Answer a = DocumentQuestions.run(tmp.resolve("idx"), model, "Where is the fire assembly point?",
                List.of(pdf.getParent()), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("ADDED rules.pdf"), out);
        assertTrue(out.contains("search 1: rules.pdf page 3"), out);
        assertEquals(3, a.sources().get(0).hit().page());
        assertTrue(out.contains("[1] rules.pdf, page 3"), out);
        assertTrue(a.timings().promptTokens() > 50);

        ByteArrayOutputStream again = new ByteArrayOutputStream();
        DocumentQuestions.run(tmp.resolve("idx"), model, "Where do glass bottles go?", List.of(pdf.getParent()),
                new PrintStream(again, true, StandardCharsets.UTF_8));
        assertTrue(again.toString(StandardCharsets.UTF_8).startsWith("UNCHANGED rules.pdf"));
    }
}
