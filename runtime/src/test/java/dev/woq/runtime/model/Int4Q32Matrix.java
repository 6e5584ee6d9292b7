package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat.Int4Q32;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;

/**
 * A random int4-q32 matrix [out, in] in the checkpoint's layout, the fp32 weights
 * {@link Int4Q32#weight} says it stands for, and the checks the int4-q32 tests share.
 *
 * @param nibbles [out, in/2], low nibble = even input
 * @param scaleCodes [out, in/32]
 * @param zeroCodes [out, in/32]
 */
record Int4Q32Matrix(int out, int in, byte[] nibbles, byte[] scaleCodes, byte[] zeroCodes, float scaleMax) {
    /** The largest scale the random matrices use: weights of a few hundredths, as in a Llama. */
    static final float SCALE_MAX = 0.0123f;

    /**
     * Codes of every value. Each row's scale codes lie in a band of 8 starting at a different code
     * per row (row n: 7n mod 249 .. + 7), so that every code 0..255 is some row's, and a row's
     * outputs show an error in any one of its codes' ratios.
     */
    static Int4Q32Matrix random(int out, int in, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int groups = in / Int4Q32.GROUP_SIZE;
        byte[] nibbles = new byte[out * in / 2];
        r.nextBytes(nibbles);
        byte[] scales = new byte[out * groups];
        byte[] zeros = new byte[out * groups];
        for (int n = 0; n < out; n++) {
            int base = (7 * n) % 249;
            for (int g = 0; g < groups; g++) {
                scales[n * groups + g] = (byte) (base + r.nextInt(8));
                zeros[n * groups + g] = (byte) r.nextInt(256);
            }
        }
        return new Int4Q32Matrix(out, in, nibbles, scales, zeros, SCALE_MAX);
    }

    int groups() {
        return in / Int4Q32.GROUP_SIZE;
    }

    int code(int n, int k) {
        int b = nibbles[(n * in + k) / 2] & 0xFF;
        return k % 2 == 0 ? b & 0xF : b >>> 4;
    }

    /** W [out, in] in fp32 as the format defines it: (q - zc/16) * scaleMax * 2^(-c/16). */
    float[] weights() {
        float[] w = new float[out * in];
        int groups = groups();
        for (int n = 0; n < out; n++) {
            for (int k = 0; k < in; k++) {
                int g = n * groups + k / Int4Q32.GROUP_SIZE;
                w[n * in + k] = Int4Q32.weight(scaleMax, scaleCodes[g] & 0xFF, zeroCodes[g] & 0xFF, code(n, k));
            }
        }
        return w;
    }

    PtNDArray nibbles(PtNDManager m) {
        return u8(m, nibbles, out, in / 2);
    }

    PtNDArray scaleCodes(PtNDManager m) {
        return u8(m, scaleCodes, out, groups());
    }

    PtNDArray zeroCodes(PtNDManager m) {
        return u8(m, zeroCodes, out, groups());
    }

    PtNDArray scaleMax(PtNDManager m) {
        return (PtNDArray) m.create(new float[] {scaleMax}, new Shape(1));
    }

    private static PtNDArray u8(PtNDManager m, byte[] b, long... shape) {
        return (PtNDArray) m.create(ByteBuffer.allocateDirect(b.length).put(b).flip(), new Shape(shape), DataType.UINT8);
    }

    /**
     * y = x W^T in double, with |x| |W|^T beside it: the scale of fp32 cancellation in each output.
     *
     * @return [2][rows * out]: y, then the sums of |x w|
     */
    static double[][] reference(float[] x, float[] w, int rows, int out, int in) {
        double[][] y = new double[2][rows * out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                double acc = 0;
                double abs = 0;
                for (int j = 0; j < in; j++) {
                    double p = (double) x[i * in + j] * w[o * in + j];
                    acc += p;
                    abs += Math.abs(p);
                }
                y[0][i * out + o] = acc;
                y[1][i * out + o] = abs;
            }
        }
        return y;
    }

    /**
     * Every output within {@code relative} of the reference plus 2^-16 of its sum of |x w| (fp32
     * sums: int4's kernels add (128 + q) x and take 136 scale * sum x off, which cancels), and the
     * cosine of the whole output at least {@code cosine}.
     */
    static void assertMatches(double[][] want, float[] got, double relative, double cosine, String what) {
        assertEquals(want[0].length, got.length, what);
        double dot = 0;
        double gg = 0;
        double ww = 0;
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            double err = Math.abs(got[i] - want[0][i]);
            double allowed = relative * Math.abs(want[0][i]) + 0x1p-16 * want[1][i];
            worst = Math.max(worst, err / allowed);
            dot += got[i] * want[0][i];
            gg += (double) got[i] * got[i];
            ww += want[0][i] * want[0][i];
        }
        double cos = dot / Math.sqrt(gg * ww);
        assertTrue(worst <= 1, what + ": an output is off by " + worst + " times the bound (relative " + relative + ")");
        assertTrue(cos >= cosine, what + ": cosine " + cos + " < " + cosine);
    }

    /**
     * woq's kernels, required where the CPU has AVX-512 BF16 (and WOQ_KERNELS does not turn them
     * off): there a missing kernel fails the test instead of skipping it. Elsewhere the test is
     * skipped, saying why.
     */
    static NativeOps requireNatives(TorchRuntime rt) {
        NativeKernels natives = rt.natives();
        if (cpuHasAvx512Bf16() && System.getenv(NativeKernels.SETTING) == null) {
            assertTrue(natives.ops().isPresent(), "this CPU has AVX-512 BF16 but woq's kernels did not load: "
                    + natives.status());
        }
        Assumptions.assumeTrue(natives.ops().isPresent(), natives.status());
        return natives.ops().orElseThrow();
    }

    /**
     * Runs body with int4's activations in bf16 (the weights' products exactly, what the format's
     * definition tests check), then restores the process's setting; int8 activations, the default
     * on CPUs with VNNI, have their own bounds (Int4OnInt8ActivationsKernelTest).
     */
    static void onBf16Activations(TorchRuntime rt, Runnable body) {
        NativeKernels.Int4Activations before = rt.natives().useInt4Activations(NativeKernels.Int4Activations.BF16);
        try {
            body.run();
        } finally {
            rt.natives().useInt4Activations(before);
        }
    }

    private static boolean cpuHasAvx512Bf16() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        try {
            return Files.isReadable(cpuinfo) && Files.readString(cpuinfo).contains(" avx512_bf16");
        } catch (IOException e) {
            return false;
        }
    }
}
