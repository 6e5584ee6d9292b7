package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The bf16 engine path against the fp32 reference forward, position by position. bf16 weights are
 * exact in both; the engine rounds activations to bf16 between ops (as Hugging Face does), which
 * bounds how close they can be: at every position cosine >= 0.999, 8 of the top-10 shared, and the
 * same top-1 except where the reference has a near-tie (within 0.05 standard deviations).
 */
class LlamaModelMatchesReferenceTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13, 578, 4062, 14198};
    static final double MIN_COSINE = 0.999;
    /** bf16 logits near the top (|l| ~ 4, 4 std here) are spaced 1/64 apart: ~0.015 std each. */
    static final double TIE_TOLERANCE = 0.05;

    @Test
    void decodeStepsMatchReferenceAtEveryPosition() {
        compareEveryPosition(TestCheckpoints.tiny());
    }

    @Test
    void llama31RopeScalingAndTiedEmbeddingsMatchReference() {
        compareEveryPosition(TestCheckpoints.tinyLlama31Tied());
    }

    @Test
    void llama32ShapeWithFactor32ScalingAndTiedEmbeddingsMatchesReference() {
        compareEveryPosition(TestCheckpoints.tinyLlama32Tied());
    }

    @Test
    void llama2ShapeWithoutGqaAndThetaTenThousandMatchesReference() {
        // ids within Llama 2's 32,000-token vocabulary, bos 1 first
        compareEveryPosition(TestCheckpoints.tinyLlama2(), new int[] {1, 910, 338, 263, 1243, 10541, 29889, 450, 4996, 17354});
    }

    @Test
    void prefillOfWholePromptMatchesReferenceAtLastPosition() {
        Path dir = TestCheckpoints.tiny();
        float[][] ref = reference(dir);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            float[] logits = s.prefill(PROMPT);
            assertClose(ref[PROMPT.length - 1], logits, "whole-prompt prefill");
        }
    }

    @Test
    void prefillAfterCachedPrefixMatchesReference() {
        // A second chunk of several tokens after cached positions takes the explicit-mask path.
        Path dir = TestCheckpoints.tiny();
        float[][] ref = reference(dir);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            int split = 4;
            float[] first = s.prefill(java.util.Arrays.copyOfRange(PROMPT, 0, split));
            assertClose(ref[split - 1], first, "first chunk");
            float[] second = s.prefill(java.util.Arrays.copyOfRange(PROMPT, split, PROMPT.length));
            assertClose(ref[PROMPT.length - 1], second, "second chunk");
            assertEquals(PROMPT.length, s.position());
        }
    }

    @Test
    void resetSessionGivesIdenticalLogits() {
        Path dir = TestCheckpoints.tiny();
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            float[] a = s.prefill(PROMPT);
            s.reset();
            float[] b = s.prefill(PROMPT);
            assertArrayEquals(a, b);
        }
    }

    private static void compareEveryPosition(Path dir) {
        compareEveryPosition(dir, PROMPT);
    }

    private static void compareEveryPosition(Path dir, int[] prompt) {
        float[][] ref = new ReferenceLlama(LlamaConfig.load(dir), SafetensorsCheckpoint.open(dir)).logits(prompt);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(prompt.length)) {
            for (int i = 0; i < prompt.length; i++) {
                float[] logits = i == 0 ? s.prefill(new int[] {prompt[0]}) : s.decode(prompt[i]);
                assertClose(ref[i], logits, "position " + i);
            }
        }
    }

    private static float[][] reference(Path dir) {
        LlamaConfig config = LlamaConfig.load(dir);
        return new ReferenceLlama(config, SafetensorsCheckpoint.open(dir)).logits(PROMPT);
    }

    static void assertClose(float[] expected, float[] actual, String where) {
        assertEquals(expected.length, actual.length, where + ": vocabulary size");
        double cos = Logits.cosine(expected, actual);
        assertTrue(cos >= MIN_COSINE, where + ": cosine " + cos + " < " + MIN_COSINE);
        int refTop = Logits.topK(expected, 1)[0];
        int engineTop = Logits.topK(actual, 1)[0];
        // Same top-1, unless the reference itself has a near-tie: then the engine's pick must be
        // within TIE_TOLERANCE standard deviations of the reference's best logit.
        double shortfall = (expected[refTop] - expected[engineTop]) / Logits.std(expected);
        assertTrue(refTop == engineTop || shortfall <= TIE_TOLERANCE,
                where + ": top-1 " + engineTop + " but the reference's is " + refTop + ", "
                        + shortfall + " std better (cosine " + cos + ")");
        int overlap = Logits.topKOverlap(expected, actual, 10);
        assertTrue(overlap >= 8, where + ": only " + overlap + " of the reference's top-10 in the engine's top-10");
    }
}
