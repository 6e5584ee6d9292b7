package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * An int8-g32 matrix ({@code w = q * scale[n][k / 32]}) made up for a test, and the product an
 * int8-g32 kernel must compute, taken independently of woq's kernels: weights {@code q * scale} in
 * fp32 (exact), activations as the bf16 values they are, sums in double.
 *
 * @param codes [out, in], -128..127
 * @param scales [out, in / 32], each a bf16 value
 */
record Int8G32Reference(byte[] codes, float[] scales, int out, int in) {
    static final int GROUP = 32;

    /**
     * Random codes over the whole int8 range and scales spread over six octaves, different in every
     * group, so that a kernel applying a scale to the wrong group or once per row is far off.
     */
    static Int8G32Reference random(int out, int in, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] codes = new byte[out * in];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (r.nextInt(256) - 128);
        }
        float[] scales = new float[out * (in / GROUP)];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = bf16((float) Math.pow(2, -12 + 6 * r.nextDouble()));
        }
        return new Int8G32Reference(codes, scales, out, in);
    }

    /** The same codes with every group of a row given the row's first scale: per-channel int8 in g32's layout. */
    Int8G32Reference withOneScalePerRow() {
        float[] same = new float[scales.length];
        int groups = in / GROUP;
        for (int n = 0; n < out; n++) {
            java.util.Arrays.fill(same, n * groups, (n + 1) * groups, scales[n * groups]);
        }
        return new Int8G32Reference(codes, same, out, in);
    }

    /** Each row's first scale: [out], the per-channel int8 layout's scales when {@link #withOneScalePerRow}. */
    float[] rowScales() {
        float[] s = new float[out];
        for (int n = 0; n < out; n++) {
            s[n] = scales[n * (in / GROUP)];
        }
        return s;
    }

    /** y [rows, out] = x [rows, in] . W^T in double, x as given (bf16 values). */
    float[] times(float[] x, int rows) {
        float[] y = new float[rows * out];
        int groups = in / GROUP;
        for (int n = 0; n < out; n++) {
            float[] w = new float[in];
            for (int k = 0; k < in; k++) {
                w[k] = codes[n * in + k] * scales[n * groups + k / GROUP]; // exact in fp32
            }
            for (int i = 0; i < rows; i++) {
                double acc = 0;
                for (int k = 0; k < in; k++) {
                    acc += (double) x[i * in + k] * w[k];
                }
                y[i * out + n] = (float) acc;
            }
        }
        return y;
    }

    ByteBuffer codeBytes() {
        return ByteBuffer.wrap(codes);
    }

    ByteBuffer scaleBytes() {
        return bf16Bytes(scales);
    }

    /** bf16-exact floats as little-endian bf16 bytes. */
    static ByteBuffer bf16Bytes(float[] bf16Exact) {
        ByteBuffer b = ByteBuffer.allocate(bf16Exact.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : bf16Exact) {
            b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
        }
        return b.flip();
    }

    /** f rounded to bf16 (round to nearest even, as libtorch), as a float. */
    static float bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
    }

    /** [rows, in] standard normal values, each rounded to bf16. */
    static float[] randomX(int rows, int in, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = bf16((float) r.nextGaussian());
        }
        return x;
    }

    static double rms(float[] a) {
        double s = 0;
        for (float v : a) {
            s += (double) v * v;
        }
        return Math.sqrt(s / a.length);
    }

    /**
     * Every output within {@code relative * |want| + 1e-4 * rms(want)} of the reference, and the
     * cosine of the two at least 0.99999. A kernel that sums in fp32 and rounds its result to bf16
     * once is within 2^-9 of each value (half a bf16 step) plus the fp32 sums' error, far below
     * 1e-4 of the outputs' rms for these sizes.
     */
    static void assertMatches(float[] want, float[] got, double relative, String what) {
        assertMatches(want, got, relative, 1e-4, what);
    }

    /** As above, with {@code floorOfRms * rms(want)} in place of 1e-4 of it. */
    static void assertMatches(float[] want, float[] got, double relative, double floorOfRms, String what) {
        assertEquals(want.length, got.length, what);
        double floor = floorOfRms * rms(want);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            double excess = Math.abs(got[i] - want[i]) - (relative * Math.abs(want[i]) + floor);
            if (at < 0 || excess > worst) {
                worst = excess;
                at = i;
            }
        }
        int i = at;
        assertTrue(worst <= 0, () -> what + ": output " + i + " is " + got[i] + ", reference " + want[i]
                + ", beyond " + relative + " of it plus " + floorOfRms + " of the rms " + rms(want));
        double cos = Logits.cosine(want, got);
        assertTrue(cos >= 0.99999, what + ": cosine " + cos);
    }
}
