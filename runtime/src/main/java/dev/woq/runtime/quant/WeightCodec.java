package dev.woq.runtime.quant;

/**
 * The arithmetic of woq's weight-only quantization, one output row at a time, in plain Java: bf16
 * conversions, int4 and int8 quantization of a row, and the matching dequantization. {@link
 * Quantizer} applies it to whole checkpoints; the loader and tests use it to check results.
 *
 * <p>Every input value is expected to be finite and exactly representable in bf16 (the quantizer
 * rounds F16/F32 sources to bf16 first). All arithmetic is in float; scales and zero points are
 * rounded to bf16 (nearest, ties to even) before they are used, so that dequantizing with the
 * stored bf16 values reproduces exactly the values the quantizer aimed at.
 */
public final class WeightCodec {
    /** torchao clamps a group's range to at least this before dividing by 15. */
    public static final float INT4_MIN_RANGE = 1e-6f;

    /** The bf16 scale of a constant int4 group (torchao's: the minimum range over 15). */
    public static final short INT4_CONSTANT_SCALE = toBf16(INT4_MIN_RANGE / 15f);

    /** The bf16 scale of an all-zero int8 row, whose quantized values are all 0. */
    public static final short INT8_ZERO_SCALE = toBf16(1e-6f / 127f);

    /** int4 values are stored as {@code q} in [0, 15] and mean {@code q - 8}. */
    public static final int INT4_OFFSET = 8;

    private WeightCodec() {}

    /** bf16 bits of {@code f}, rounded to nearest even; NaN stays a (quiet) NaN of the same sign. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The float value of bf16 bits. */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    /** {@code f} rounded to the nearest bf16 value (ties to even). */
    public static float roundToBf16(float f) {
        return bf16ToFloat(toBf16(f));
    }

    /** The float value of IEEE half-precision bits (exact: every half is a float). */
    public static float f16ToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal (or zero): exact
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /**
     * Quantizes one row of {@code k} values to asymmetric int4 with groups of {@code groupSize}
     * consecutive values, as gpt-fast / torchao ({@code get_group_qparams} and {@code
     * group_quantize_tensor_from_qparams}):
     *
     * <pre>
     * scale = bf16(max(max - min, 1e-6) / 15)
     * zero  = bf16(min + 8 * scale)
     * q     = clamp(rint((w - (zero - 8 * scale)) / scale), 0, 15)     w' = (q - 8) * scale + zero
     * </pre>
     *
     * with the bf16-rounded scale and zero, and {@code rint} rounding ties to even as {@code
     * torch.round}. A constant group (min == max, e.g. all zeros) is stored exactly: every q is 8,
     * zero is the value and scale is {@link #INT4_CONSTANT_SCALE}, so w' equals the value.
     *
     * <p>Error: |w - w'| &lt;= scale / 2 + (|zero| + 16 * scale) / 256, the second term bounding
     * what the bf16 rounding of scale and zero can shrink the covered range by (relative rounding
     * error of bf16 is at most 2^-8); float arithmetic adds about 2^-23 of |w|.
     *
     * @param row the values; {@code row[0..k)} is read
     * @param packed receives {@code k / 2} bytes from {@code packedOffset}: byte j holds q[2j] in its
     *     low nibble and q[2j+1] in its high nibble
     * @param scales receives {@code k / groupSize} bf16 scales from {@code groupOffset}
     * @param zeros receives {@code k / groupSize} bf16 zero points from {@code groupOffset}
     */
    public static void quantizeInt4Row(float[] row, int k, int groupSize, byte[] packed, int packedOffset,
            short[] scales, short[] zeros, int groupOffset) {
        if (k % groupSize != 0 || groupSize % 2 != 0) {
            throw new IllegalArgumentException("k=" + k + " is not a multiple of the even group size " + groupSize);
        }
        int groups = k / groupSize;
        for (int g = 0; g < groups; g++) {
            int base = g * groupSize;
            float min = row[base];
            float max = row[base];
            for (int j = 1; j < groupSize; j++) {
                float v = row[base + j];
                if (v < min) {
                    min = v;
                } else if (v > max) {
                    max = v;
                }
            }
            int p = packedOffset + base / 2;
            if (min == max) {
                scales[groupOffset + g] = INT4_CONSTANT_SCALE;
                zeros[groupOffset + g] = toBf16(min);
                byte eights = (byte) (INT4_OFFSET | (INT4_OFFSET << 4));
                for (int j = 0; j < groupSize / 2; j++) {
                    packed[p + j] = eights;
                }
                continue;
            }
            short sb = toBf16(Math.max(max - min, INT4_MIN_RANGE) / 15f);
            float scale = bf16ToFloat(sb);
            short zb = toBf16(min + INT4_OFFSET * scale);
            float lo = bf16ToFloat(zb) - INT4_OFFSET * scale;
            scales[groupOffset + g] = sb;
            zeros[groupOffset + g] = zb;
            for (int j = 0; j < groupSize; j += 2) {
                int q0 = int4(row[base + j], lo, scale);
                int q1 = int4(row[base + j + 1], lo, scale);
                packed[p + j / 2] = (byte) (q0 | (q1 << 4));
            }
        }
    }

    private static int int4(float w, float lo, float scale) {
        int q = (int) Math.rint((w - lo) / scale);
        return Math.max(0, Math.min(15, q));
    }

    /**
     * Dequantizes one int4 row: {@code out[outOffset + i] = (q[i] - 8) * scale + zero} of its group.
     * Arguments as {@link #quantizeInt4Row}.
     */
    public static void dequantizeInt4Row(byte[] packed, int packedOffset, short[] scales, short[] zeros,
            int groupOffset, int k, int groupSize, float[] out, int outOffset) {
        for (int i = 0; i < k; i++) {
            int b = packed[packedOffset + i / 2] & 0xFF;
            int q = (i & 1) == 0 ? b & 0xF : b >>> 4;
            int g = groupOffset + i / groupSize;
            out[outOffset + i] = (q - INT4_OFFSET) * bf16ToFloat(scales[g]) + bf16ToFloat(zeros[g]);
        }
    }

    /**
     * Quantizes one row of {@code k} values to symmetric int8 with one scale:
     *
     * <pre>
     * scale = bf16(max|w| / 127)      q = clamp(rint(w / scale), -128, 127)      w' = q * scale
     * </pre>
     *
     * An all-zero row gets scale {@link #INT8_ZERO_SCALE} and q = 0, so w' is exactly 0. Error:
     * |w - w'| &lt;= scale / 2 (bf16 rounding of the scale moves max|w| / scale to at most 127.5,
     * inside the clamp), plus float rounding of about 2^-23 of |w|; {@code q * scale} is exact.
     *
     * @param row the values; {@code row[0..k)} is read
     * @param q receives {@code k} bytes from {@code qOffset}
     * @return the bf16 scale
     */
    public static short quantizeInt8Row(float[] row, int k, byte[] q, int qOffset) {
        float amax = 0;
        for (int i = 0; i < k; i++) {
            amax = Math.max(amax, Math.abs(row[i]));
        }
        short sb = toBf16(amax / 127f);
        float scale = bf16ToFloat(sb);
        if (amax == 0 || scale == 0) {
            sb = INT8_ZERO_SCALE; // max|w| / 127 underflows only for subnormal rows, far below scale / 2
            scale = bf16ToFloat(sb);
        }
        for (int i = 0; i < k; i++) {
            int v = (int) Math.rint(row[i] / scale);
            q[qOffset + i] = (byte) Math.max(-128, Math.min(127, v));
        }
        return sb;
    }

    /** Dequantizes one int8 row: {@code out[outOffset + i] = q[i] * scale}. */
    public static void dequantizeInt8Row(byte[] q, int qOffset, short scale, int k, float[] out, int outOffset) {
        float s = bf16ToFloat(scale);
        for (int i = 0; i < k; i++) {
            out[outOffset + i] = q[qOffset + i] * s;
        }
    }
}
