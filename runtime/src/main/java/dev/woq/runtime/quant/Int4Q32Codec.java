package dev.woq.runtime.quant;

import dev.woq.runtime.format.WeightFormat.Int4Q32;

/**
 * Quantizes rows to {@link Int4Q32} (groups of 32, a byte of scale code and a byte of zero code
 * each) and back. A matrix is quantized in two passes: {@link #scaleBound} over every row gives
 * the matrix's largest scale, which the scale codes count down from; then each row's groups are
 * coded by {@link #quantizeRow}.
 *
 * <p>Per group, round-to-nearest takes the smallest coded scale that spans the group's range (with
 * zero in it: the zero point is 0..15.94 steps) and the nearest zero code. The search
 * ({@link Int4Search#MSE}) starts from the continuous range with the least squared error
 * ({@link Int4MseSearch#searchGroup}) and tries the coded scales and zero points around it (five
 * scale codes by five zero codes), each with its codes rounded to nearest; it keeps the one with
 * the least squared error, round-to-nearest's included, so no group is worse than round-to-nearest.
 * Coding the scale costs almost nothing (a scale code is 4.4 % from the next, and the weights' codes
 * are re-rounded to it); it is the zero point in sixteenths of a step, where an integer zero point
 * (GPTQ, AWQ) loses about 0.7 dB of SQNR on heavy-tailed groups, that lets 4.5 bits match a bf16
 * scale and zero per group of 32 (5 bits).
 */
public final class Int4Q32Codec {
    static final int GROUP = Int4Q32.GROUP_SIZE;
    /** Scale codes tried each side of the searched scale's nearest. */
    static final int SCALE_NEIGHBOURS = 2;
    /** Zero codes tried each side of the searched zero point's nearest. */
    static final int ZERO_NEIGHBOURS = 2;

    private Int4Q32Codec() {}

    /**
     * The largest scale round-to-nearest would give a group of this row: {@code (hi - lo) / 15} over
     * the group's range with zero in it. The matrix's {@code scaleMax} is the largest over its rows,
     * so every group's scale has a code.
     */
    public static float scaleBound(float[] row, int k) {
        float bound = 0;
        for (int base = 0; base < k; base += GROUP) {
            float lo = 0;
            float hi = 0;
            for (int j = 0; j < GROUP; j++) {
                lo = Math.min(lo, row[base + j]);
                hi = Math.max(hi, row[base + j]);
            }
            bound = Math.max(bound, (hi - lo) / 15f);
        }
        return bound;
    }

    /**
     * Codes one row of {@code k} weights (a multiple of 32): nibbles into {@code packed} from
     * {@code packedOffset} (low nibble = even input), scale and zero codes into {@code scaleCodes}
     * and {@code zeroCodes} from {@code groupOffset}.
     *
     * @param scaleMax the matrix's largest scale, at least {@link #scaleBound} of every row
     */
    public static void quantizeRow(float[] row, int k, float scaleMax, Int4Search search, byte[] packed,
            int packedOffset, byte[] scaleCodes, byte[] zeroCodes, int groupOffset) {
        quantizeRow(row, k, scaleMax, search, null, packed, packedOffset, scaleCodes, zeroCodes, groupOffset);
    }

    /**
     * As {@link #quantizeRow(float[], int, float, Int4Search, byte[], int, byte[], byte[], int)}, the
     * search weighing each weight's squared error through its input's {@code importance[j]} ({@code
     * null}: unweighted; see {@link Int4MseSearch#elementWeights}).
     */
    public static void quantizeRow(float[] row, int k, float scaleMax, Int4Search search, float[] importance,
            byte[] packed, int packedOffset, byte[] scaleCodes, byte[] zeroCodes, int groupOffset) {
        float[] weights = Int4MseSearch.elementWeights(row, k, importance);
        byte[] codes = new byte[GROUP];
        byte[] trial = new byte[GROUP];
        for (int g = 0; g < k / GROUP; g++) {
            int base = g * GROUP;
            float min = row[base];
            float max = row[base];
            for (int j = 1; j < GROUP; j++) {
                min = Math.min(min, row[base + j]);
                max = Math.max(max, row[base + j]);
            }
            int bestC;
            int bestZc;
            if (!(scaleMax > 0)) {
                bestC = 0;
                bestZc = 0;
                java.util.Arrays.fill(codes, (byte) 0);
            } else {
                // Round-to-nearest: the least coded scale that spans [min(lo, 0), max(hi, 0)].
                float lo = Math.min(min, 0f);
                float hi = Math.max(max, 0f);
                bestC = spanningCode(scaleMax, (hi - lo) / 15f);
                bestZc = nearestZeroCode(-lo / Int4Q32.scale(scaleMax, bestC));
                double bestErr = code(row, weights, base, scaleMax, bestC, bestZc, codes);
                if (search == Int4Search.MSE && min < max) {
                    float[] fit = Int4MseSearch.searchGroup(row, weights, base, GROUP, min, max);
                    if (fit != null) {
                        int c0 = nearestScaleCode(scaleMax, fit[1]);
                        for (int c = Math.max(0, c0 - SCALE_NEIGHBOURS); c <= Math.min(255, c0 + SCALE_NEIGHBOURS); c++) {
                            int z0 = nearestZeroCode(-fit[0] / Int4Q32.scale(scaleMax, c));
                            for (int zc = Math.max(0, z0 - ZERO_NEIGHBOURS); zc <= Math.min(255, z0 + ZERO_NEIGHBOURS); zc++) {
                                double err = code(row, weights, base, scaleMax, c, zc, trial);
                                if (err < bestErr) {
                                    bestErr = err;
                                    bestC = c;
                                    bestZc = zc;
                                    System.arraycopy(trial, 0, codes, 0, GROUP);
                                }
                            }
                        }
                    }
                }
            }
            scaleCodes[groupOffset + g] = (byte) bestC;
            zeroCodes[groupOffset + g] = (byte) bestZc;
            int p = packedOffset + base / 2;
            for (int j = 0; j < GROUP; j += 2) {
                packed[p + j / 2] = (byte) (codes[j] | (codes[j + 1] << 4));
            }
        }
    }

    /** Weights of one coded row, {@code k} of them, into {@code out} from {@code outOffset}. */
    public static void dequantizeRow(byte[] packed, int packedOffset, byte[] scaleCodes, byte[] zeroCodes,
            int groupOffset, float scaleMax, int k, float[] out, int outOffset) {
        for (int i = 0; i < k; i++) {
            int b = packed[packedOffset + i / 2] & 0xFF;
            int q = (i & 1) == 0 ? b & 0xF : b >>> 4;
            int g = groupOffset + i / GROUP;
            out[outOffset + i] = Int4Q32.weight(scaleMax, scaleCodes[g] & 0xFF, zeroCodes[g] & 0xFF, q);
        }
    }

    /**
     * Codes of the group at {@code base} for scale code {@code c} and zero code {@code zc}, rounded to
     * nearest; returns the squared error, weighted by {@code importance} where given.
     */
    private static double code(float[] row, float[] importance, int base, float scaleMax, int c, int zc, byte[] into) {
        float scale = Int4Q32.scale(scaleMax, c);
        float zeroPoint = Int4Q32.zeroPoint(zc);
        double err = 0;
        for (int j = 0; j < GROUP; j++) {
            float w = row[base + j];
            int q = scale > 0 ? Math.max(0, Math.min(15, Math.round(w / scale + zeroPoint))) : 0;
            into[j] = (byte) q;
            double d = w - (q - zeroPoint) * scale;
            err += Int4MseSearch.weight(importance, base + j) * d * d;
        }
        return err;
    }

    /** The largest code whose scale is at least {@code needed} (0, scaleMax itself, if none is smaller). */
    private static int spanningCode(float scaleMax, float needed) {
        if (!(needed > 0)) {
            return 255;
        }
        int c = Math.min(255, Math.max(0, (int) Math.floor(Int4Q32.SCALE_STEPS_PER_OCTAVE * log2(scaleMax / needed))));
        while (c > 0 && Int4Q32.scale(scaleMax, c) < needed) {
            c--;
        }
        while (c < 255 && Int4Q32.scale(scaleMax, c + 1) >= needed) {
            c++;
        }
        return c;
    }

    private static int nearestScaleCode(float scaleMax, float scale) {
        if (!(scale > 0)) {
            return 255;
        }
        long c = Math.round(Int4Q32.SCALE_STEPS_PER_OCTAVE * log2(scaleMax / scale));
        return (int) Math.max(0, Math.min(255, c));
    }

    private static int nearestZeroCode(float zeroPoint) {
        if (!Float.isFinite(zeroPoint)) {
            return 0;
        }
        return Math.max(0, Math.min(255, Math.round(zeroPoint * Int4Q32.ZERO_STEPS)));
    }

    private static double log2(double v) {
        return Math.log(v) / Math.log(2);
    }
}
