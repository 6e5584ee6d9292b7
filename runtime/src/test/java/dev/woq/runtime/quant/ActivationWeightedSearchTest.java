package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The int4 search weighted by input importance ({@code --calibration}) against the unweighted one,
 * on the heavy-tailed matrices of {@link Int4MseSearchTest} with a few inputs 64 times louder (in
 * mean square) than the rest, as outlier features make them: in the importance-weighted SQNR that
 * the expected output error follows, the weighted search gains at least 1 dB in both layouts
 * (measured when written: +2.0 dB for int4-q32 and +1.4 dB for int4-g128).
 */
class ActivationWeightedSearchTest {
    static final int ROWS = Int4MseSearchTest.ROWS;
    static final int K = Int4MseSearchTest.K;

    @Test
    void weightedSearchLowersTheOutputErrorOfInt4Q32() {
        float[] w = Int4MseSearchTest.heavyTailed(5);
        float[] importance = loudInputs(11);
        double plain = weightedSqnr(w, q32(w, null), importance);
        double weighted = weightedSqnr(w, q32(w, importance), importance);
        System.out.printf("int4-q32 importance-weighted SQNR: weighted search %.2f dB, unweighted %.2f dB%n", weighted, plain);
        assertTrue(weighted >= plain + 1.0, "weighted search " + weighted + " dB against " + plain);
    }

    @Test
    void weightedSearchLowersTheOutputErrorOfInt4G128() {
        float[] w = Int4MseSearchTest.heavyTailed(6);
        float[] importance = loudInputs(12);
        double plain = weightedSqnr(w, g128(w, null), importance);
        double weighted = weightedSqnr(w, g128(w, importance), importance);
        System.out.printf("int4-g128 importance-weighted SQNR: weighted search %.2f dB, unweighted %.2f dB%n", weighted, plain);
        assertTrue(weighted >= plain + 1.0, "weighted search " + weighted + " dB against " + plain);
    }

    /** Importance 1 (plus the floor) for most inputs and 64 for one in 64, as {@link ActivationImportance} normalises it. */
    static float[] loudInputs(long seed) {
        Random random = new Random(seed);
        float[] a = new float[K];
        for (int j = 0; j < K; j++) {
            a[j] = random.nextInt(64) == 0 ? 64f : 1f;
        }
        return a;
    }

    /** {@code 10 log10(Σ a w² / Σ a (w - w')²)} over every row: the output's signal to its quantization noise. */
    static double weightedSqnr(float[] w, float[] dq, float[] importance) {
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < w.length; i++) {
            double a = importance[i % K];
            double d = w[i] - dq[i];
            signal += a * w[i] * w[i];
            noise += a * d * d;
        }
        return 10 * Math.log10(signal / noise);
    }

    private static float[] q32(float[] w, float[] importance) {
        float[] row = new float[K];
        float scaleMax = 0;
        for (int r = 0; r < ROWS; r++) {
            System.arraycopy(w, r * K, row, 0, K);
            scaleMax = Math.max(scaleMax, Int4Q32Codec.scaleBound(row, K));
        }
        int groups = K / 32;
        byte[] packed = new byte[K / 2];
        byte[] s = new byte[groups];
        byte[] z = new byte[groups];
        float[] out = new float[w.length];
        for (int r = 0; r < ROWS; r++) {
            System.arraycopy(w, r * K, row, 0, K);
            Int4Q32Codec.quantizeRow(row, K, scaleMax, Int4Search.MSE, importance, packed, 0, s, z, 0);
            Int4Q32Codec.dequantizeRow(packed, 0, s, z, 0, scaleMax, K, out, r * K);
        }
        return out;
    }

    private static float[] g128(float[] w, float[] importance) {
        Int4WeightOnly recipe = new Int4WeightOnly(128, true, Int4Search.MSE);
        float[] row = new float[K];
        byte[] packed = new byte[K / 2];
        short[] scales = new short[K / 128];
        short[] zeros = new short[K / 128];
        float[] out = new float[w.length];
        for (int r = 0; r < ROWS; r++) {
            System.arraycopy(w, r * K, row, 0, K);
            recipe.quantizeRow(row, K, importance, packed, 0, scales, zeros, 0);
            for (int i = 0; i < K; i++) {
                int b = packed[i / 2] & 0xFF;
                int q = (i & 1) == 0 ? b & 0xF : b >>> 4;
                out[r * K + i] = (q - WeightCodec.INT4_OFFSET) * WeightCodec.bf16ToFloat(scales[i / 128])
                        + WeightCodec.bf16ToFloat(zeros[i / 128]);
            }
        }
        return out;
    }
}
