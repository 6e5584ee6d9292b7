package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The warm-up before the first prompt runs the real model and leaves nothing behind. */
class WarmupTest {
    @Test
    void warmUpRunsTheModelAndChangesNoLaterGeneration() {
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny())) {
            Generator generator = new Generator(model);
            int[] before = generator.generate(GeneratorTest.PROMPT, GenerationConfig.greedy(8, Set.of()), id -> { })
                    .generatedIds();
            long nanos = Warmup.run(model);
            assertTrue(nanos > 0, "took " + nanos + " ns");
            int[] after = generator.generate(GeneratorTest.PROMPT, GenerationConfig.greedy(8, Set.of()), id -> { })
                    .generatedIds();
            assertArrayEquals(before, after);
        }
    }
}
