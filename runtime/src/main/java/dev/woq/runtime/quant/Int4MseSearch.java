package dev.woq.runtime.quant;

/**
 * int4 quantization that searches, per group, the range minimising the squared error, in woq's
 * unchanged layout ({@code w' = (q - 8) * scale + zero}, bf16 scale and zero, q in 0..15), without
 * calibration data. Round-to-nearest over min/max spends the 16 levels on the extremes; in a
 * heavy-tailed group one outlier stretches the step for every other value. Here, per group:
 *
 * <ol>
 *   <li>for each candidate range (min/max, and min/max pulled in from either or both ends by
 *       {@link #SHRINKS} of the range), assign every value its nearest level, then refit scale and
 *       offset to those levels by least squares (closed form from five running sums) and keep the
 *       candidate with the least squared error;
 *   <li>{@link #REFINEMENTS} rounds of reassigning levels with the fitted scale and offset and
 *       refitting (alternating minimisation, as llama.cpp's k-quants and HQQ do);
 *   <li>round scale and zero to bf16, assign the final codes with them, and compare the group's exact
 *       squared error with round-to-nearest's ({@link WeightCodec#quantizeInt4Row}): the smaller
 *       wins, so no group is ever worse than round-to-nearest.
 * </ol>
 *
 * About 30 passes over each group's values where round-to-nearest makes two.
 *
 * <p>With calibration ({@link ActivationImportance}), every squared error above is weighted: a
 * weight's error reaches the output through its input, so the expected squared output error of a
 * row is {@code Σ a[j] (w[j] - w'[j])²} with {@code a[j]} the input's mean square; each weight's
 * share is {@code a[j]} times {@code sqrt(sigma2 + w[j]²)} ({@link #elementWeights}), as llama.cpp's
 * k-quants weigh an importance matrix. The fits are then weighted least squares. Without
 * calibration the weights are all 1.
 */
public final class Int4MseSearch {
    /** Fractions of the range cut from the low end and the high end, pairwise. */
    static final float[][] SHRINKS = {
        {0f, 0f}, {0f, 0.08f}, {0.08f, 0f}, {0.05f, 0.05f}, {0f, 0.16f}, {0.16f, 0f}, {0.1f, 0.1f}, {0.2f, 0.2f},
    };

    /** Reassign-and-refit rounds after the best candidate. */
    static final int REFINEMENTS = 2;

    private Int4MseSearch() {}

    /**
     * Quantizes one row as {@link WeightCodec#quantizeInt4Row} does, with the same arguments and
     * layout, choosing each group's scale and zero by the search above.
     */
    public static void quantizeRow(float[] row, int k, int groupSize, byte[] packed, int packedOffset,
            short[] scales, short[] zeros, int groupOffset) {
        quantizeRow(row, k, groupSize, null, packed, packedOffset, scales, zeros, groupOffset);
    }

    /**
     * As {@link #quantizeRow(float[], int, int, byte[], int, short[], short[], int)}, each squared
     * error weighted through {@code importance[j]}, the calibration's importance of the row's inputs
     * ({@code k} of them; {@code null}: unweighted), as {@link #elementWeights} says.
     */
    public static void quantizeRow(float[] row, int k, int groupSize, float[] importance, byte[] packed,
            int packedOffset, short[] scales, short[] zeros, int groupOffset) {
        float[] weights = elementWeights(row, k, importance);
        // Round-to-nearest first: the fallback, and the answer for constant groups.
        WeightCodec.quantizeInt4Row(row, k, groupSize, packed, packedOffset, scales, zeros, groupOffset);
        int groups = k / groupSize;
        byte[] codes = new byte[groupSize];
        for (int g = 0; g < groups; g++) {
            int base = g * groupSize;
            float min = row[base];
            float max = row[base];
            for (int j = 1; j < groupSize; j++) {
                min = Math.min(min, row[base + j]);
                max = Math.max(max, row[base + j]);
            }
            if (min == max) {
                continue;
            }
            float[] best = searchGroup(row, weights, base, groupSize, min, max);
            if (best == null) {
                continue;
            }
            float bestLo = best[0];
            float bestScale = best[1];
            // Stored values: bf16 scale, and a bf16 zero = lo + 8 * scale.
            short sb = WeightCodec.toBf16(bestScale);
            float scale = WeightCodec.bf16ToFloat(sb);
            if (!(scale > 0) || !Float.isFinite(scale)) {
                continue;
            }
            short zb = WeightCodec.toBf16(bestLo + WeightCodec.INT4_OFFSET * scale);
            float zero = WeightCodec.bf16ToFloat(zb);
            float lo = zero - WeightCodec.INT4_OFFSET * scale;
            double err = 0;
            for (int j = 0; j < groupSize; j++) {
                int q = level(row[base + j], lo, scale);
                codes[j] = (byte) q;
                double d = row[base + j] - ((q - WeightCodec.INT4_OFFSET) * scale + zero);
                err += weight(weights, base + j) * d * d;
            }
            if (err < storedError(row, weights, base, groupSize, packed, packedOffset + base / 2, scales[groupOffset + g],
                    zeros[groupOffset + g])) {
                scales[groupOffset + g] = sb;
                zeros[groupOffset + g] = zb;
                int p = packedOffset + base / 2;
                for (int j = 0; j < groupSize; j += 2) {
                    packed[p + j / 2] = (byte) (codes[j] | (codes[j + 1] << 4));
                }
            }
        }
    }

    /**
     * Steps 1 and 2 above for the group of {@code n} values at {@code row[base]}, whose least and
     * greatest values are {@code min < max}: the continuous range with the least squared error,
     * each value's weighted by {@code importance[base + j]} ({@code null}: unweighted).
     *
     * @return {lo, scale, squared error} ({@code w ≈ lo + q * scale}, q in 0..15), or {@code null}
     *     when no candidate fits (every value on one level)
     */
    static float[] searchGroup(float[] row, float[] importance, int base, int n, float min, float max) {
        float range = max - min;
        float[] best = null;
        for (float[] shrink : SHRINKS) {
            float lo = min + shrink[0] * range;
            float scale = (max - shrink[1] * range - lo) / 15f;
            float[] fit = fit(row, importance, base, n, lo, scale);
            if (fit != null && (best == null || fit[2] < best[2])) {
                best = fit;
            }
        }
        if (best == null || best[1] <= 0) {
            return null;
        }
        for (int it = 0; it < REFINEMENTS; it++) {
            float[] fit = fit(row, importance, base, n, best[0], best[1]);
            if (fit == null || fit[2] >= best[2]) {
                break;
            }
            best = fit;
        }
        return best;
    }

    /**
     * Assigns each value of the group its nearest level of (lo, scale), then fits w ≈ lo' + q *
     * scale' by (weighted) least squares over those levels.
     *
     * @return {lo', scale', squared error of the fit}, or {@code null} when every value got the same level
     */
    private static float[] fit(float[] row, float[] importance, int base, int n, float lo, float scale) {
        if (!(scale > 0)) {
            return null;
        }
        float inv = 1f / scale;
        double sa = 0;
        double sq = 0;
        double sqq = 0;
        double sw = 0;
        double sqw = 0;
        double sww = 0;
        for (int j = 0; j < n; j++) {
            float w = row[base + j];
            double a = weight(importance, base + j);
            int q = Math.max(0, Math.min(15, (int) Math.rint((w - lo) * inv)));
            sa += a;
            sq += a * q;
            sqq += a * q * q;
            sw += a * w;
            sqw += a * q * w;
            sww += a * w * w;
        }
        double det = sa * sqq - sq * sq;
        if (det <= 0) {
            return null;
        }
        double s = (sa * sqw - sq * sw) / det;
        double l = (sw - s * sq) / sa;
        if (!(s > 0)) {
            return null;
        }
        // Σ a (w - l - q s)² expanded over the running sums.
        double err = sww + sa * l * l + s * s * sqq - 2 * l * sw - 2 * s * sqw + 2 * l * s * sq;
        return new float[] {(float) l, (float) s, (float) Math.max(0, err)};
    }

    /**
     * Each weight's share of the search's error with calibration: its input's importance times
     * {@code sqrt(sigma2 + w²)}, {@code sigma2} twice the mean square of the weights in its block of
     * {@link #SIGMA_BLOCK} (llama.cpp's k-quants weigh an importance matrix so): the larger weights
     * of a group are kept closer. {@code null} without calibration.
     */
    static float[] elementWeights(float[] row, int k, float[] importance) {
        if (importance == null) {
            return null;
        }
        float[] out = new float[k];
        for (int base = 0; base < k; base += SIGMA_BLOCK) {
            int end = Math.min(k, base + SIGMA_BLOCK);
            double sum = 0;
            for (int j = base; j < end; j++) {
                sum += (double) row[j] * row[j];
            }
            double sigma2 = 2 * sum / (end - base);
            for (int j = base; j < end; j++) {
                out[j] = (float) (importance[j] * Math.sqrt(sigma2 + (double) row[j] * row[j]));
            }
        }
        return out;
    }

    /** Inputs whose weights' mean square sets {@link #elementWeights}'s {@code sigma2}: Q4_K's super-block. */
    static final int SIGMA_BLOCK = 256;

    /** {@code importance[i]}, or 1 without calibration. */
    static double weight(float[] importance, int i) {
        return importance == null ? 1 : importance[i];
    }

    private static int level(float w, float lo, float scale) {
        return Math.max(0, Math.min(15, (int) Math.rint((w - lo) / scale)));
    }

    /** The (weighted) squared error of the group as stored now (round-to-nearest's codes, scale and zero). */
    private static double storedError(float[] row, float[] importance, int base, int n, byte[] packed, int p,
            short scale, short zero) {
        float s = WeightCodec.bf16ToFloat(scale);
        float z = WeightCodec.bf16ToFloat(zero);
        double err = 0;
        for (int j = 0; j < n; j++) {
            int b = packed[p + j / 2] & 0xFF;
            int q = (j & 1) == 0 ? b & 0xF : b >>> 4;
            double d = row[base + j] - ((q - WeightCodec.INT4_OFFSET) * s + z);
            err += weight(importance, base + j) * d * d;
        }
        return err;
    }
}
