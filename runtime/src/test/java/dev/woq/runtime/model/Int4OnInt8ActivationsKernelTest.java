package dev.woq.runtime.model;

import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16Values;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.randomFloats;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.toFloats;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.NativeKernels.Int4Activations;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * int4 on int8 activations ({@code WOQ_INT4_ACTIVATIONS=int8}): woq::int4_mm (groups of 32,
 * 64, 128) and woq::int4q32_mm against each format's definition with x as given. The kernel
 * rounds each token's x to int8 per block of 32 inputs (step max|x| / 127): each input's error is
 * uniform within half a step, so an output's error has the standard deviation
 * sqrt(sum over blocks of step^2 / 12 times the block's sum of w^2). Each output is within 6 of
 * those, plus bf16's rounding of the output (2^-8 of it) and 2^-16 of the sum of |x w| for fp32
 * (measured: up to 0.60 of that bound over 960-3,840 outputs a call, cosine 0.99998); one
 * block's scale taken from its neighbour fails it. The shapes cover whole 2048-input tiles and a
 * 128-input remainder; 1 token (the decode loop's four weight streams), 3 and 8 (one pass over the
 * weights for all rows), and 9, 13 and 40 (the prompt tiles: below, past and well past one
 * 12-token block).
 */
class Int4OnInt8ActivationsKernelTest {
    static final int OUT = 96;
    /** Two whole 2048-input tiles; one and a tile of 128 inputs (the kernels take multiples of 128). */
    static final int[] INS = {4096, 2176};
    static final int[] TOKENS = {1, 3, 8, 9, 13, 40};

    @Test
    void everyInt4FormatMatchesItsDefinitionWithinTheRoundingOfXToInt8() throws IOException {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        Path cpuinfo = Path.of("/proc/cpuinfo");
        Assumptions.assumeTrue(Files.isReadable(cpuinfo) && Files.readString(cpuinfo).contains(" avx512_vnni"),
                "no AVX-512 VNNI on this CPU");
        TorchOps k = rt.ops();
        for (int in : INS) {
            Int4Q32Matrix q32 = Int4Q32Matrix.random(OUT, in, in);
            check(rt, k, "int4-q32, in " + in, q32.weights(), in,
                    (m, x) -> natives.int4q32(m, x, q32.nibbles(m), q32.scaleCodes(m), q32.zeroCodes(m), q32.scaleMax(m)));
            for (int group : new int[] {32, 64, 128}) {
                SplittableRandom r = new SplittableRandom(group * 7L + in);
                byte[] nibbles = new byte[OUT * in / 2];
                r.nextBytes(nibbles);
                int groups = in / group;
                float[] scales = new float[OUT * groups];
                float[] zeros = new float[OUT * groups];
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = 0.002f + 0.01f * (float) r.nextDouble();
                    zeros[i] = 0.02f * (float) (r.nextDouble() - 0.5);
                }
                float[] s = bf16Values(scales);
                float[] z = bf16Values(zeros);
                float[] w = new float[OUT * in];
                for (int o = 0; o < OUT; o++) {
                    for (int j = 0; j < in; j++) {
                        int b = nibbles[(o * in + j) / 2] & 0xFF;
                        int code = j % 2 == 0 ? b & 0xF : b >>> 4;
                        int g = o * groups + j / group;
                        w[o * in + j] = (code - 8) * s[g] + z[g];
                    }
                }
                check(rt, k, "int4-g" + group + ", in " + in, w, in, (m, x) -> natives.int4(m, x,
                        u8(m, nibbles, in), bf16(k, m, s, OUT, groups), bf16(k, m, z, OUT, groups)));
            }
        }
    }

    private interface Kernel {
        PtNDArray apply(PtNDManager m, PtNDArray x);
    }

    private static void check(TorchRuntime rt, TorchOps k, String what, float[] w, int in, Kernel kernel) {
        NativeKernels natives = rt.natives();
        for (int tokens : TOKENS) {
            float[] x = bf16Values(randomFloats(tokens * in, 31L * tokens + in));
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
                PtNDArray xs = bf16(k, m, x, tokens, in);
                Int4Activations before = natives.useInt4Activations(Int4Activations.BF16);
                float[] exact;
                float[] y;
                try {
                    exact = toFloats(k, m, kernel.apply(m, xs));
                    natives.useInt4Activations(Int4Activations.INT8);
                    y = toFloats(k, m, kernel.apply(m, xs));
                } finally {
                    natives.useInt4Activations(before);
                }
                assertFalse(Arrays.equals(exact, y), what + ", " + tokens + " tokens: int8 activations gave bf16's bits");
                assertWithinInt8Rounding(x, w, y, tokens, in, what + ", " + tokens + " tokens");
            }
        }
    }

    private static void assertWithinInt8Rounding(float[] x, float[] w, float[] y, int tokens, int in, String what) {
        double worst = 0;
        double dot = 0;
        double yy = 0;
        double rr = 0;
        for (int i = 0; i < tokens; i++) {
            for (int o = 0; o < OUT; o++) {
                double ref = 0;
                double abs = 0;
                double variance = 0;
                for (int b = 0; b < in; b += 32) {
                    double amax = 0;
                    double w2 = 0;
                    for (int j = b; j < b + 32; j++) {
                        double xv = x[i * in + j];
                        double wv = w[o * in + j];
                        ref += xv * wv;
                        abs += Math.abs(xv * wv);
                        amax = Math.max(amax, Math.abs(xv));
                        w2 += wv * wv;
                    }
                    double step = amax / 127;
                    variance += step * step / 12 * w2;
                }
                double got = y[i * OUT + o];
                double allowed = 0x1p-8 * Math.abs(ref) + 6 * Math.sqrt(variance) + 0x1p-16 * abs;
                worst = Math.max(worst, Math.abs(got - ref) / allowed);
                dot += got * ref;
                yy += got * got;
                rr += ref * ref;
            }
        }
        double cosine = dot / Math.sqrt(yy * rr);
        System.out.printf("%s: worst output at %.3f of its bound, cosine %.7f%n", what, worst, cosine);
        assertTrue(worst <= 1, what + ": an output is off by " + worst + " times its bound");
        assertTrue(cosine >= 0.99995, what + ": cosine " + cosine);
    }

    private static PtNDArray u8(PtNDManager m, byte[] b, int in) {
        return (PtNDArray) m.create(java.nio.ByteBuffer.allocateDirect(b.length).put(b).flip(),
                new ai.djl.ndarray.types.Shape(OUT, in / 2), ai.djl.ndarray.types.DataType.UINT8);
    }
}
