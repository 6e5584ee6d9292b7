package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart's check, as a test: the {@code small} preset exactly as {@code woq synth --preset
 * small} writes it (seed 0, Hugging Face's initialization), prompt "This is a test sentence.", and
 * the logits of the first generated token (what {@code --logits-out} writes) against the fp32
 * reference: cosine at least 0.999 and the same top-1.
 */
class SmallPresetMatchesReferenceTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13};

    @Test
    void smallPresetFirstTokenLogitsMatchReference(@TempDir Path tmp) {
        Path dir = tmp.resolve("small");
        SyntheticCheckpoint.write(dir, SyntheticPreset.SMALL.config(), 0, null,
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        LlamaConfig config = LlamaConfig.load(dir);
        float[] expected = new ReferenceLlama(config, SafetensorsCheckpoint.open(dir)).logits(PROMPT)[PROMPT.length - 1];
        float[] actual;
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            actual = s.prefill(PROMPT);
        }
        double cos = Logits.cosine(expected, actual);
        assertTrue(cos >= 0.999, "cosine " + cos);
        assertEquals(Logits.topK(expected, 1)[0], Logits.topK(actual, 1)[0], "top-1 (cosine " + cos + ")");
    }
}
