package dev.woq.runtime.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code woq synth --weights llm-like} on the tiny preset: every projection is heavy-tailed
 * (kurtosis above 6 where a Gaussian's is 3), has its outlier input columns (RMS at least 4 times
 * the median column's), and matrices differ in scale (the largest median |w| at least 1.3 times
 * the smallest); the default random weights show none of it.
 */
class LlmLikeWeightsTest {
    @TempDir
    static Path tmp;

    static SafetensorsCheckpoint llmLike;
    static SafetensorsCheckpoint random;
    static LlamaConfig config = SyntheticPreset.TINY.config();

    @BeforeAll
    static void writeBoth() {
        Path a = tmp.resolve("llm-like");
        Path b = tmp.resolve("random");
        SyntheticCheckpoint.write(a, config, 5, SyntheticCheckpoint.HF_INIT_STD, SyntheticWeights.LLM_LIKE, null,
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        SyntheticCheckpoint.write(b, config, 5, SyntheticCheckpoint.HF_INIT_STD, SyntheticWeights.RANDOM, null,
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        llmLike = SafetensorsCheckpoint.open(a);
        random = SafetensorsCheckpoint.open(b);
    }

    @Test
    void everyProjectionIsHeavyTailedWithOutlierColumns() {
        for (String name : projections()) {
            TensorInfo t = llmLike.tensor(name);
            int cols = Math.toIntExact(t.shape().get(1));
            float[] w = read(t);
            assertTrue(kurtosis(w) > 6, name + " kurtosis " + kurtosis(w));
            double[] rms = columnRms(w, cols);
            double median = median(rms);
            long outliers = Arrays.stream(rms).filter(r -> r > 4 * median).count();
            assertEquals(Math.max(2, cols / LlmLikeBf16.COLUMNS_PER_OUTLIER), outliers, name + " outlier columns");
        }
    }

    @Test
    void randomWeightsAreGaussianWithoutOutliers() {
        for (String name : projections()) {
            TensorInfo t = random.tensor(name);
            float[] w = read(t);
            assertEquals(3.0, kurtosis(w), 0.3, name);
            double[] rms = columnRms(w, Math.toIntExact(t.shape().get(1)));
            assertTrue(Arrays.stream(rms).max().orElseThrow() < 1.5 * median(rms), name);
        }
    }

    @Test
    void matricesDifferInScale() {
        List<Double> llm = new ArrayList<>();
        List<Double> rnd = new ArrayList<>();
        for (String name : projections()) {
            llm.add(medianAbs(read(llmLike.tensor(name))));
            rnd.add(medianAbs(read(random.tensor(name))));
        }
        double llmSpread = llm.stream().mapToDouble(d -> d).max().orElseThrow()
                / llm.stream().mapToDouble(d -> d).min().orElseThrow();
        double rndSpread = rnd.stream().mapToDouble(d -> d).max().orElseThrow()
                / rnd.stream().mapToDouble(d -> d).min().orElseThrow();
        assertTrue(llmSpread > 1.3, "llm-like spread " + llmSpread);
        assertTrue(rndSpread < 1.1, "random spread " + rndSpread);
    }

    @Test
    void theSameSeedWritesTheSameBytes() {
        Path again = tmp.resolve("llm-like-again");
        SyntheticCheckpoint.write(again, config, 5, SyntheticCheckpoint.HF_INIT_STD, SyntheticWeights.LLM_LIKE, null,
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        String name = LlamaWeights.layer(1).down();
        assertArrayEquals(read(llmLike.tensor(name)), read(SafetensorsCheckpoint.open(again).tensor(name)));
    }

    private static List<String> projections() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            names.addAll(LlamaWeights.layer(i).projections());
        }
        return names;
    }

    static double kurtosis(float[] w) {
        double mean = 0;
        for (float v : w) {
            mean += v;
        }
        mean /= w.length;
        double m2 = 0;
        double m4 = 0;
        for (float v : w) {
            double d = v - mean;
            m2 += d * d;
            m4 += d * d * d * d;
        }
        m2 /= w.length;
        m4 /= w.length;
        return m4 / (m2 * m2);
    }

    private static double[] columnRms(float[] w, int cols) {
        double[] rms = new double[cols];
        int rows = w.length / cols;
        for (int i = 0; i < w.length; i++) {
            rms[i % cols] += (double) w[i] * w[i];
        }
        for (int c = 0; c < cols; c++) {
            rms[c] = Math.sqrt(rms[c] / rows);
        }
        return rms;
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double medianAbs(float[] w) {
        double[] a = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            a[i] = Math.abs(w[i]);
        }
        return median(a);
    }

    /** A bf16 tensor as floats. */
    static float[] read(TensorInfo t) {
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            long pos = t.fileOffset();
            while (buf.hasRemaining()) {
                pos += ch.read(buf, pos);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        buf.flip();
        float[] out = new float[buf.remaining() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat((buf.getShort() & 0xFFFF) << 16);
        }
        return out;
    }
}
