package dev.woq.runtime.quant;

import java.util.HashMap;
import java.util.Map;

/**
 * How much each input of each projection matters, measured on a calibration text: the mean square
 * of the input over the text's tokens. A weight's quantization error {@code e[j]} reaches the
 * output as {@code Σ x[j] e[j]}, whose expected square is {@code Σ E[x[j]²] e[j]²} when the inputs
 * are uncorrelated, so the int4 search minimises that ({@link Int4MseSearch}): the groups that read
 * loud inputs get the finer levels where they need them. Activations of a trained Llama (and of
 * {@code woq synth --weights llm-like-outliers}) have a few input channels far louder than the
 * rest on every token.
 *
 * <p>Each projection's vector is divided by its mean and {@link #FLOOR} added: only the ratios
 * matter to the search, and the floor keeps an input that the text never excited from being
 * quantized as if it never will be.
 */
public final class ActivationImportance {
    /** Added to every input's normalised mean square (whose mean is 1). */
    public static final double FLOOR = 0.1;

    private final Map<String, float[]> byWeight;
    private final long tokens;

    private ActivationImportance(Map<String, float[]> byWeight, long tokens) {
        this.byWeight = Map.copyOf(byWeight);
        this.tokens = tokens;
    }

    /** The importance of {@code weightName}'s inputs ({@code in} of them), or {@code null} when it was not measured. */
    public float[] of(String weightName) {
        return byWeight.get(weightName);
    }

    /** The calibration tokens the means are over. */
    public long tokens() {
        return tokens;
    }

    /** Sums the squares of each projection's inputs while the calibration text runs through the model. */
    public static final class Accumulator {
        private final Map<String, double[]> sums = new HashMap<>();

        /** Adds {@code sumSquares[j]}, a sum over some tokens of input j's square, to {@code weightName}'s totals. */
        public synchronized void add(String weightName, float[] sumSquares) {
            double[] s = sums.computeIfAbsent(weightName, n -> new double[sumSquares.length]);
            if (s.length != sumSquares.length) {
                throw new IllegalArgumentException(weightName + " has " + s.length + " inputs, not " + sumSquares.length);
            }
            for (int j = 0; j < s.length; j++) {
                s[j] += sumSquares[j];
            }
        }

        /** The importance of every projection seen, over {@code tokens} calibration tokens. */
        public synchronized ActivationImportance finish(long tokens) {
            Map<String, float[]> out = new HashMap<>();
            for (Map.Entry<String, double[]> e : sums.entrySet()) {
                double[] s = e.getValue();
                double mean = 0;
                for (double v : s) {
                    mean += v;
                }
                mean /= s.length;
                float[] a = new float[s.length];
                for (int j = 0; j < s.length; j++) {
                    a[j] = (float) ((mean > 0 ? s[j] / mean : 1) + FLOOR);
                }
                out.put(e.getKey(), a);
            }
            return new ActivationImportance(out, tokens);
        }
    }
}
