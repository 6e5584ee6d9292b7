package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Hugging Face's repetition penalty on the logits of tokens already seen. */
class RepetitionPenaltyTest {

    @Test
    void positiveLogitsOfSeenTokensAreDivided() {
        RepetitionPenalty penalty = new RepetitionPenalty(2.0);
        penalty.observe(1);
        penalty.observe(3);
        float[] logits = {4f, 3f, 2f, 0.5f};
        penalty.apply(logits);
        assertArrayEquals(new float[] {4f, 1.5f, 2f, 0.25f}, logits);
    }

    @Test
    void negativeLogitsOfSeenTokensAreMultiplied() {
        RepetitionPenalty penalty = new RepetitionPenalty(1.5);
        penalty.observe(0);
        penalty.observe(2);
        float[] logits = {-2f, -3f, -0.5f};
        penalty.apply(logits);
        assertArrayEquals(new float[] {-3f, -3f, -0.75f}, logits);
    }

    @Test
    void seenTokensBecomeLessLikelyEitherWay() {
        RepetitionPenalty penalty = new RepetitionPenalty(1.3);
        float[] logits = {2.5f, -1.25f, 0f, 7f};
        for (int id = 0; id < logits.length; id++) {
            penalty.observe(id);
        }
        float[] before = logits.clone();
        penalty.apply(logits);
        for (int id = 0; id < logits.length; id++) {
            if (before[id] == 0) {
                assertEquals(0f, logits[id], "a zero logit stays zero");
            } else {
                assertTrue(logits[id] < before[id], "token " + id + ": " + before[id] + " became " + logits[id]);
            }
        }
    }

    @Test
    void unseenTokensAreUntouched() {
        RepetitionPenalty penalty = new RepetitionPenalty(3.0);
        penalty.observe(2);
        float[] logits = {5f, -5f, 6f, 0.1f, -0.1f};
        penalty.apply(logits);
        assertArrayEquals(new float[] {5f, -5f, 2f, 0.1f, -0.1f}, logits);
    }

    @Test
    void repeatedObservationsPenalizeOnlyOncePerApply() {
        RepetitionPenalty penalty = new RepetitionPenalty(2.0);
        penalty.observe(0);
        penalty.observe(0);
        penalty.observe(0);
        float[] logits = {8f, 1f};
        penalty.apply(logits);
        assertArrayEquals(new float[] {4f, 1f}, logits);
    }

    @Test
    void penaltyOfOneChangesNothing() {
        RepetitionPenalty penalty = new RepetitionPenalty(1.0);
        float[] logits = {3f, -2f, 0f, 1e-3f, -7.5f};
        for (int id = 0; id < logits.length; id++) {
            penalty.observe(id);
        }
        float[] before = logits.clone();
        penalty.apply(logits);
        assertArrayEquals(before, logits);
    }

    @Test
    void seenIdsBeyondTheLogitsAreIgnored() {
        RepetitionPenalty penalty = new RepetitionPenalty(2.0);
        penalty.observe(1);
        penalty.observe(100);
        float[] logits = {1f, 1f};
        penalty.apply(logits);
        assertArrayEquals(new float[] {1f, 0.5f}, logits);
    }
}
