package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** all-MiniLM-L6-v2 from the jar: unit vectors, meaning-aware, batches equal to one by one. */
class MiniLmEmbedderTest {
    private final MiniLmEmbedder minilm = MiniLm.get();

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void vectorsAreUnitLengthAnd384Wide() {
        float[] v = minilm.embed(List.of("The cat sits on the mat."))[0];
        assertEquals(384, v.length);
        assertEquals(1.0, dot(v, v), 1e-4);
    }

    @Test
    void paraphrasesAreCloserThanUnrelatedSentences() {
        float[][] v = minilm.embed(List.of("How many vacation days do employees get?",
                "Every employee receives twenty-seven days of paid vacation per year.",
                "The fire assembly point is the parking lot behind the bakery."));
        assertTrue(dot(v[0], v[1]) > dot(v[0], v[2]) + 0.2, dot(v[0], v[1]) + " vs " + dot(v[0], v[2]));
    }

    @Test
    void aPaddedBatchGivesTheSameVectorsAsOneTextAtATime() {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            texts.add("Sentence number " + i + (i % 3 == 0 ? " is a good deal longer than the others around it." : "."));
        }
        float[][] batch = minilm.embed(texts);
        for (int i : new int[] {0, 1, 33, 39}) {
            float[] one = minilm.embed(List.of(texts.get(i)))[0];
            assertEquals(1.0, dot(one, batch[i]), 1e-4, "text " + i);
        }
    }

    @Test
    void tokenCountsIncludeClsAndSep() {
        assertEquals(2, minilm.countTokens(""));
        assertEquals(2 + 2, minilm.countTokens("hello world"));
    }
}
