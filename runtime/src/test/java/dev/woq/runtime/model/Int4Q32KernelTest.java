package dev.woq.runtime.model;

import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16Values;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.randomFloats;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.toFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat.Int4Q32;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * woq::int4q32_mm against the format's own definition and against woq::int4_mm, with bf16
 * activations: on every path of the kernel (decode: one row of x in four streams, 2-8 rows sharing
 * a pass; prompts: from 9 rows with whole 32-row tiles, the tile kernel), with K = 4096 (the 8B's
 * hidden size).
 */
class Int4Q32KernelTest {
    static final int IN = 4096;
    /** Nine of the prompt kernel's 32-row tiles (and every scale code, see Int4Q32Matrix). */
    static final int OUT = 288;
    /** A ragged number of rows: the decode loops' tails (the prompt kernel needs whole tiles). */
    static final int RAGGED_OUT = 300;
    /** One token (streams), 4 (rows sharing a pass), 9 and 40 (prompt tiles: 12-token blocks and a tail). */
    static final int[] TOKENS = {1, 4, 9, 40};
    /**
     * Each output within 2^-8 of itself of the reference, bf16's unit roundoff (the kernel rounds
     * its fp32 result to bf16), plus 2^-16 of the sum of |x w| for what the fp32 sums lose: the
     * kernel adds (128 + q) x and takes 136 scale * sum x off, and forms zero = (8 - zc/16) * scale
     * in fp32 where the reference takes (q - zc/16) * scale. Measured: up to 0.94 of this bound
     * (outputs just below a power of two, where bf16's rounding error is largest), cosine
     * 0.999998-0.999999; a scale-ratio table one step (4.4 %) off in one entry of 16 fails it 25x.
     */
    static final double RELATIVE = 0x1p-8;
    static final double COSINE = 0.99999;

    @Test
    void int4q32MatchesTheFormatsDefinitionOnEveryKernelPath() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps k = rt.ops();
        Int4Q32Matrix.onBf16Activations(rt, () -> {
            for (int out : new int[] {OUT, RAGGED_OUT}) {
                Int4Q32Matrix q = Int4Q32Matrix.random(out, IN, out);
                float[] w = q.weights();
                try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
                    for (int tokens : TOKENS) {
                        float[] x = bf16Values(randomFloats(tokens * IN, 100L * out + tokens));
                        float[] y = toFloats(k, m, natives.int4q32(m, bf16(k, m, x, tokens, IN), q.nibbles(m),
                                q.scaleCodes(m), q.zeroCodes(m), q.scaleMax(m)));
                        Int4Q32Matrix.assertMatches(Int4Q32Matrix.reference(x, w, tokens, out, IN), y, RELATIVE,
                                COSINE, "int4-q32, " + out + " outputs, " + tokens + " tokens");
                    }
                }
            }
        });
    }

    /**
     * With scales that are powers of two (scale codes multiples of 16, scaleMax 2^-6) every scale
     * and zero = (128 - zc) / 16 * scale is exact in bf16, so int4-g32 can hold the same groups:
     * the two kernels then give the same bits, which pins int4-q32 to int4's arithmetic once the
     * groups are formed.
     */
    @Test
    void int4q32GivesInt4G32sBitsWhereItsScalesAndZerosAreExactInBf16() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps k = rt.ops();
        SplittableRandom r = new SplittableRandom(32);
        int groups = IN / Int4Q32.GROUP_SIZE;
        byte[] nibbles = new byte[OUT * IN / 2];
        r.nextBytes(nibbles);
        byte[] scaleCodes = new byte[OUT * groups];
        byte[] zeroCodes = new byte[OUT * groups];
        float scaleMax = 0x1p-6f;
        float[] scales = new float[OUT * groups];
        float[] zeros = new float[OUT * groups];
        for (int i = 0; i < scaleCodes.length; i++) {
            int c = 16 * r.nextInt(16);
            int zc = r.nextInt(256);
            scaleCodes[i] = (byte) c;
            zeroCodes[i] = (byte) zc;
            scales[i] = Int4Q32.scale(scaleMax, c);
            zeros[i] = (8 - Int4Q32.zeroPoint(zc)) * scales[i];
        }
        assertArrayEquals(scales, bf16Values(scales), "scales exact in bf16");
        assertArrayEquals(zeros, bf16Values(zeros), "zeros exact in bf16");
        Int4Q32Matrix q = new Int4Q32Matrix(OUT, IN, nibbles, scaleCodes, zeroCodes, scaleMax);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            for (int tokens : TOKENS) {
                PtNDArray x = bf16(k, m, randomFloats(tokens * IN, tokens), tokens, IN);
                float[] int4 = toFloats(k, m, natives.int4(m, x, q.nibbles(m),
                        bf16(k, m, scales, OUT, groups), bf16(k, m, zeros, OUT, groups)));
                float[] q32 = toFloats(k, m, natives.int4q32(m, x, q.nibbles(m), q.scaleCodes(m), q.zeroCodes(m),
                        q.scaleMax(m)));
                assertArrayEquals(int4, q32, tokens + " tokens");
            }
        }
    }

    @Test
    void badInputIsAJavaErrorNamingTheOperatorAndTheShapes() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps k = rt.ops();
        Int4Q32Matrix q = Int4Q32Matrix.random(32, 256, 1);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            PtNDArray x = bf16(k, m, randomFloats(2 * 256, 2), 2, 256);
            // zero codes of int4-g64's width (4 groups) where int4-q32 has 8
            Int4Q32Matrix narrow = Int4Q32Matrix.random(32, 128, 1);
            WoqException e = assertThrows(WoqException.class, () -> natives.int4q32(m, x, q.nibbles(m), q.scaleCodes(m),
                    narrow.zeroCodes(m), q.scaleMax(m)));
            assertMessage(e, "woq::int4q32_mm", "x [2, 256]", "zero_codes [32, 4]", "[n, in / 32]");
            PtNDArray nan = (PtNDArray) m.create(new float[] {Float.NaN}, new Shape(1));
            e = assertThrows(WoqException.class, () -> natives.int4q32(m, x, q.nibbles(m), q.scaleCodes(m),
                    q.zeroCodes(m), nan));
            assertMessage(e, "woq::int4q32_mm", "scale_max is nan");
        }
    }

    private static void assertMessage(WoqException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "'" + p + "' missing from: " + e.getMessage());
        }
    }
}
