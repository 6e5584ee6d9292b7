package dev.woq.runtime.bench;

import java.util.Arrays;

/**
 * The median of some measurements and their range.
 *
 * @param median the middle value (the mean of the two middle ones for an even count)
 * @param min the smallest
 * @param max the largest
 */
public record Spread(double median, double min, double max) {

    /** The spread of {@code values}; at least one is needed. */
    public static Spread of(double... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values to summarize");
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return new Spread(median, v[0], v[n - 1]);
    }

    /** Each value multiplied by {@code factor} (for unit changes). */
    public Spread times(double factor) {
        return new Spread(median * factor, min * factor, max * factor);
    }
}
