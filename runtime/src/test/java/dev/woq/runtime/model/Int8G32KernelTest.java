package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * woq's int8-g32 operator ({@code woq::int8g32_mm}) against {@link Int8G32Reference}, on each of
 * its paths: one token (the four-stream decode loop), 5 tokens (rows sharing one pass over the
 * weights), and 40 tokens with whole 32-row tiles (more than 8 tokens and outputs a multiple of
 * 32: the prompt path, 12 tokens a block and a tail of 4) or with a ragged tail of rows (the
 * shared-pass loop, 8 tokens at a time). Runs where woq's kernels do (a CPU with AVX-512 BF16).
 */
class Int8G32KernelTest {
    static final int IN = 4096;
    /** Ten 32-row tiles: prompts take the tile path. */
    static final int OUT = 320;
    /** Nine tiles and a tail of 12: prompts stay on the decode loops. */
    static final int RAGGED_OUT = 300;
    /** Half a bf16 step of each value, doubled for fp32 sums that land by a rounding boundary. */
    static final double BF16_ROUNDING = 0x1p-8;

    @Test
    void int8G32KernelMatchesTheJavaReferenceInDecodeBatchesAndPrompts() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        TorchOps k = rt.ops();
        for (int out : new int[] {OUT, RAGGED_OUT}) {
            Int8G32Reference w = Int8G32Reference.random(out, IN, out);
            for (int tokens : new int[] {1, 5, 40}) {
                float[] x = Int8G32Reference.randomX(tokens, IN, tokens);
                try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
                    float[] got = floats(k, m, natives.int8G32(m, bf16(k, m, x, tokens, IN), codes(m, w), scales(k, m, w)));
                    Int8G32Reference.assertMatches(w.times(x, tokens), got, BF16_ROUNDING,
                            "int8-g32, " + tokens + " tokens, " + out + " outputs");
                }
            }
        }
    }

    /**
     * With every group of a row at the row's scale, int8-g32 computes what per-channel int8 does,
     * up to the order of the fp32 sums: each output equal or one bf16 step (2^-7 of it) apart.
     */
    @Test
    void int8G32WithOneScalePerRowMatchesThePerChannelInt8Kernel() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        TorchOps k = rt.ops();
        Int8G32Reference w = Int8G32Reference.random(OUT, IN, 7).withOneScalePerRow();
        for (int tokens : new int[] {1, 5, 40}) {
            float[] x = Int8G32Reference.randomX(tokens, IN, 100 + tokens);
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
                PtNDArray xt = bf16(k, m, x, tokens, IN);
                float[] grouped = floats(k, m, natives.int8G32(m, xt, codes(m, w), scales(k, m, w)));
                float[] perChannel = floats(k, m, natives.int8(m, xt, codes(m, w), bf16(k, m, w.rowScales(), OUT)));
                Int8G32Reference.assertMatches(perChannel, grouped, 0x1p-7, "int8-g32 against int8, " + tokens + " tokens");
            }
        }
    }

    @Test
    void scalesOfTheWrongShapeAreAJavaErrorNamingOperatorAndShapes() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            Int8G32Reference w = Int8G32Reference.random(64, 256, 3);
            PtNDArray x = bf16(k, m, Int8G32Reference.randomX(2, 256, 1), 2, 256);
            // one scale per 64 inputs where int8-g32 has one per 32
            WoqException e = assertThrows(WoqException.class,
                    () -> natives.int8G32(m, x, codes(m, w), bf16(k, m, new float[64 * 4], 64, 4)));
            for (String part : new String[] {"woq::int8g32_mm", "x [2, 256]", "q [64, 256]", "scales [64, 4]", "[n, in / 32]"}) {
                assertTrue(e.getMessage().contains(part), () -> "'" + part + "' missing from: " + e.getMessage());
            }
        }
    }

    private static NativeOps requireNatives(TorchRuntime rt) {
        Assumptions.assumeTrue(rt.natives().ops().isPresent(), rt.natives().status());
        return rt.natives().ops().orElseThrow();
    }

    private static PtNDArray codes(PtNDManager m, Int8G32Reference w) {
        ByteBuffer b = ByteBuffer.allocateDirect(w.codes().length);
        b.put(w.codes()).flip();
        return (PtNDArray) m.create(b, new Shape(w.out(), w.in()), DataType.INT8);
    }

    private static PtNDArray scales(TorchOps k, PtNDManager m, Int8G32Reference w) {
        return bf16(k, m, w.scales(), w.out(), w.in() / Int8G32Reference.GROUP);
    }

    /** bf16-exact floats as a bf16 tensor. */
    private static PtNDArray bf16(TorchOps k, PtNDManager m, float[] values, long... shape) {
        return k.to(m, (PtNDArray) m.create(values, new Shape(shape)), TorchDtype.BFLOAT16);
    }

    private static float[] floats(TorchOps k, PtNDManager m, PtNDArray a) {
        return k.toFloat(m, a).toFloatArray();
    }
}
