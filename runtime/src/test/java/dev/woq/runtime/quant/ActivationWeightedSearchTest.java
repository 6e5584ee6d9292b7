package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The int4 search weighted by input importance ({@code --calibration}) against the unweighted one,
 * on the heavy-tailed matrices of {@link Int4MseSearchTest} with a few inputs 64 times louder (in
 * mean square) than the rest, as outlier features make them: in the importance-weighted SQNR that
 * the expected output error follows, the weighted search gains at least 1 dB in both layouts
 * (measured when written: +2.0 dB for int4-q32 and +1.4 dB for int4-g128).
 */
class ActivationWeightedSearchTest {
    static final int K = Int4MseSearchTest.K;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"int4-q32", "int4-g128"})
    void weightedSearchLowersTheOutputError(String layout) {
        float[] w = Int4MseSearchTest.heavyTailed(5);
        float[] importance = loudInputs(11);
        Function<float[], float[]> quantize = layout.equals("int4-q32")
                ? a -> Int4Q32CodecTest.roundTrip(w, Int4Search.MSE, a)
                : a -> Int4MseSearchTest.roundTrip(w, new Int4WeightOnly(128, true, Int4Search.MSE), a);
        double plain = weightedSqnr(w, quantize.apply(null), importance);
        double weighted = weightedSqnr(w, quantize.apply(importance), importance);
        System.out.printf("%s importance-weighted SQNR: weighted search %.2f dB, unweighted %.2f dB%n", layout,
                weighted, plain);
        assertTrue(weighted >= plain + 1.0, layout + ": weighted search " + weighted + " dB against " + plain);
    }

    /** Importance 1 for most inputs and 64 for one in 64, as {@link ActivationImportance} normalises it. */
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
}
