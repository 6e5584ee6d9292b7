package dev.woq.runtime.gguf;

/**
 * Signal-to-quantization-noise ratio accumulated over many values: {@code 10 log10(sum x^2 / sum
 * (x - x')^2)} in dB; infinite when every value is exact.
 */
public final class Sqnr {
    private double signal;
    private double noise;
    private int tensors;

    /** Adds {@code n} values of reference {@code x} and approximation {@code y}. */
    public void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            double d = (double) x[i] - y[i];
            signal += (double) x[i] * x[i];
            noise += d * d;
        }
    }

    /** Counts one more tensor. */
    public void countTensor() {
        tensors++;
    }

    public int tensors() {
        return tensors;
    }

    /** The ratio in dB ({@link Double#POSITIVE_INFINITY} when exact). */
    public double db() {
        return noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
    }

    @Override
    public String toString() {
        return noise == 0 ? "exact" : String.format(java.util.Locale.ROOT, "%.1f dB", db());
    }
}
