package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.Int8WeightOnly;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quantized checkpoints against their bf16 source, on the {@code small} preset as {@code woq synth}
 * writes it (Hugging Face's N(0, 0.02) initialization): at every prompt position the logits'
 * cosine and the KL divergence of the next-token distributions stay within each recipe's bound,
 * and a quantized checkpoint loads to the same logits every time.
 */
class QuantizedModelQualityTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13, 578, 4062, 14198, 30};
    /**
     * Bounds per recipe: minimum cosine, maximum KL (nats), over all positions. Measured on this
     * checkpoint: int8 0.99968 / 0.00007, int8-g32 0.99984 / 0.00003, int4-g32 0.9727 / 0.0057, int4-g64 0.9682 / 0.0066,
     * int4-g128 0.9575 / 0.0088; the bounds leave a little room below. Random weights spread
     * logits thinly over the vocabulary, so KL stays small while cosine shows the noise.
     */
    static final Map<String, double[]> BOUNDS = new LinkedHashMap<>();

    static {
        BOUNDS.put("int8", new double[] {0.999, 0.0005});
        BOUNDS.put("int8-g32", new double[] {0.9995, 0.0002});
        BOUNDS.put("int4-g32", new double[] {0.96, 0.01});
        BOUNDS.put("int4-g64", new double[] {0.96, 0.01});
        BOUNDS.put("int4-g128", new double[] {0.945, 0.015});
    }

    @TempDir
    static Path tmp;

    static Path source;
    static float[][] bf16;

    @BeforeAll
    static void writeSource() {
        source = tmp.resolve("small");
        SyntheticCheckpoint.write(source, SyntheticPreset.SMALL.config(), 3, null,
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        bf16 = logitsAtEveryPosition(source);
    }

    @Test
    void int8G32LogitsStayCloseToBf16() {
        assertWithinBounds(QuantRecipe.parse("int8", null, false));
    }

    @Test
    void int8PerChannelLogitsStayCloseToBf16() {
        assertWithinBounds(new Int8WeightOnly(true));
    }

    @Test
    void int4Group32LogitsStayCloseToBf16() {
        assertWithinBounds(QuantRecipe.parse("int4", 32, false));
    }

    @Test
    void int4Group64LogitsStayCloseToBf16() {
        assertWithinBounds(QuantRecipe.parse("int4", 64, false));
    }

    @Test
    void int4Group128LogitsStayCloseToBf16() {
        assertWithinBounds(QuantRecipe.parse("int4", 128, false));
    }

    @Test
    void quantizedCheckpointLoadsToIdenticalLogits() {
        Path dir = quantize(QuantRecipe.parse("int4", 128, false), "again");
        assertArrayEquals(logitsAtEveryPosition(dir)[PROMPT.length - 1], logitsAtEveryPosition(dir)[PROMPT.length - 1]);
    }

    private static void assertWithinBounds(QuantRecipe recipe) {
        Path dir = quantize(recipe, recipe.id());
        float[][] q = logitsAtEveryPosition(dir);
        double[] bound = BOUNDS.get(recipe.id());
        double worstCos = 1;
        double worstKl = 0;
        for (int i = 0; i < PROMPT.length; i++) {
            worstCos = Math.min(worstCos, Logits.cosine(bf16[i], q[i]));
            worstKl = Math.max(worstKl, kl(bf16[i], q[i]));
        }
        System.out.printf("%s: worst cosine %.5f, worst KL %.5f%n", recipe.id(), worstCos, worstKl);
        assertTrue(worstCos >= bound[0], recipe.id() + ": cosine " + worstCos + " < " + bound[0]);
        assertTrue(worstKl <= bound[1], recipe.id() + ": KL " + worstKl + " > " + bound[1]);
    }

    private static Path quantize(QuantRecipe recipe, String name) {
        try {
            Path dir = Files.createDirectories(tmp.resolve(name));
            Quantizer.quantize(source, dir, recipe, Quantizer.Progress.NONE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static float[][] logitsAtEveryPosition(Path dir) {
        float[][] out = new float[PROMPT.length][];
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            for (int i = 0; i < PROMPT.length; i++) {
                out[i] = i == 0 ? s.prefill(new int[] {PROMPT[0]}) : s.decode(PROMPT[i]);
            }
        }
        return out;
    }

    /** KL(p || q) of the softmax distributions of two logit vectors, in nats. */
    static double kl(float[] p, float[] q) {
        double[] lp = Logits.logSoftmax(p);
        double[] lq = Logits.logSoftmax(q);
        double sum = 0;
        for (int i = 0; i < lp.length; i++) {
            sum += Math.exp(lp[i]) * (lp[i] - lq[i]);
        }
        return sum;
    }
}
