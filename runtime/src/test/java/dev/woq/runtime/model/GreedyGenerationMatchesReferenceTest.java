package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.generate.StopReason;
import dev.woq.runtime.generate.TokenListener;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Greedy generation on the engine against the fp32 reference: each generated token is the
 * reference's argmax over the prompt and the tokens generated before it, up to bf16 near-ties.
 */
class GreedyGenerationMatchesReferenceTest {
    static final int STEPS = 6;

    @Test
    void everyGreedyTokenIsTheReferenceArgmax() {
        Path dir = TestCheckpoints.tiny();
        int[] prompt = LlamaModelMatchesReferenceTest.PROMPT;
        GenerationResult r;
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir)) {
            r = new Generator(model).generate(prompt, GenerationConfig.greedy(STEPS, Set.of()), TokenListener.NONE);
        }
        assertEquals(STEPS, r.generatedIds().length);
        assertEquals(StopReason.MAX_NEW_TOKENS, r.stopReason());
        int[] sequence = Arrays.copyOf(prompt, prompt.length + STEPS - 1);
        System.arraycopy(r.generatedIds(), 0, sequence, prompt.length, STEPS - 1);
        float[][] ref = new ReferenceLlama(LlamaConfig.load(dir), SafetensorsCheckpoint.open(dir)).logits(sequence);
        for (int i = 0; i < STEPS; i++) {
            float[] expected = ref[prompt.length - 1 + i];
            int refTop = Logits.topK(expected, 1)[0];
            int got = r.generatedIds()[i];
            double shortfall = (expected[refTop] - expected[got]) / Logits.std(expected);
            assertTrue(got == refTop || shortfall <= LlamaModelMatchesReferenceTest.TIE_TOLERANCE,
                    "token " + i + ": generated " + got + " but the reference's argmax is " + refTop
                            + ", " + shortfall + " std better");
        }
        double cos = Logits.cosine(ref[prompt.length - 1], r.firstLogits());
        assertTrue(cos >= LlamaModelMatchesReferenceTest.MIN_COSINE, "first logits: cosine " + cos);
    }
}
