package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.ConfigException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Chunks follow sentences, stay within MiniLM's budget counted by its own tokenizer, and overlap. */
class TokenBudgetChunkerTest {
    private final MiniLmEmbedder minilm = MiniLm.get();

    private static String sentences(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("Sentence ").append(i).append(" tells about the quarterly revenue of the cooperative")
                    .append(i % 4 == 0 ? ".\n\n" : ".\n");
        }
        return sb.toString();
    }

    @Test
    void noChunkExceedsTheBudgetAndEveryChunkEndsAtASentence() {
        String text = sentences(120);
        List<Span> spans = new TokenBudgetChunker(minilm, 64, 16).split(text);
        assertTrue(spans.size() > 10, "spans: " + spans.size());
        for (Span s : spans) {
            String chunk = s.text(text);
            assertTrue(minilm.countTokens(chunk) <= 64, chunk);
            assertTrue(chunk.endsWith("."), chunk);
            assertTrue(chunk.startsWith("Sentence"), chunk);
        }
    }

    @Test
    void consecutiveChunksOverlapByTheirLastSentence() {
        String text = sentences(40);
        List<Span> spans = new TokenBudgetChunker(minilm, 64, 16).split(text);
        for (int i = 1; i < spans.size(); i++) {
            assertTrue(spans.get(i).start() < spans.get(i - 1).end(), "chunk " + i + " repeats the end of " + (i - 1));
        }
        List<Span> none = new TokenBudgetChunker(minilm, 64, 0).split(text);
        for (int i = 1; i < none.size(); i++) {
            assertTrue(none.get(i).start() >= none.get(i - 1).end());
        }
        // Overlap repeats text: the overlapping chunks hold more characters in all.
        assertTrue(spans.stream().mapToInt(s -> s.end() - s.start()).sum()
                > none.stream().mapToInt(s -> s.end() - s.start()).sum());
    }

    @Test
    void everyWordOfThePageIsInSomeChunk() {
        String text = sentences(50);
        List<Span> spans = new TokenBudgetChunker(minilm, 48, 8).split(text);
        for (int i = 0; i < 50; i++) {
            String needle = "Sentence " + i + " ";
            assertTrue(spans.stream().anyMatch(s -> s.text(text).contains(needle)), needle);
        }
    }

    @Test
    void aSentenceLongerThanTheBudgetIsCutAtWhiteSpaceAndStillFits() {
        String text = "word ".repeat(1000) + "x".repeat(900) + " end.";
        List<Span> spans = new TokenBudgetChunker(minilm, 256, 32).split(text);
        assertTrue(spans.size() >= 4);
        for (Span s : spans) {
            assertTrue(minilm.countTokens(s.text(text)) <= 256);
        }
        assertTrue(spans.get(spans.size() - 1).text(text).endsWith("end."));
    }

    @Test
    void aBudgetOverWhatMiniLmSeesIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> new TokenBudgetChunker(minilm, 512, 32));
        assertTrue(e.getMessage().contains("256"), e.getMessage());
    }

    @Test
    void charWindowsOfTheSeedRecipeAreAtMost500Characters() {
        String text = sentences(60);
        List<Span> spans = new CharWindowChunker(500, 50).split(text);
        for (int i = 0; i < spans.size(); i++) {
            Span s = spans.get(i);
            assertTrue(s.end() - s.start() <= 500);
            if (i > 0) {
                assertTrue(s.start() < spans.get(i - 1).end());
            }
        }
        assertEquals(text.length(), spans.get(spans.size() - 1).end());
        assertFalse(spans.isEmpty());
    }
}
