package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * woq's native operators at their edges: bad input to each comes back as a Java exception naming
 * the operator and the shapes (no C++ exception escapes, the runtime keeps working), and the
 * tails of the input dimension (K not a multiple of 32, of 128 or of the group size) are either
 * computed exactly as a plain matmul on the same bf16 values or refused before computing.
 */
class KernelFaultsAndTailsTest {
    /** K values with every kind of tail: below one 32-wide step, 32k + 8, + 4, + 1, 64k + 40. */
    static final int[] TAIL_KS = {8, 40, 100, 129, 200, 264};
    static final int OUT = 37; // one 32-row block and a ragged tail of 5

    @Test
    void badInputToEachOperatorIsAJavaErrorNamingOperatorAndShapes() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            PtNDArray x = bf16(k, m, randomFloats(2 * 100, 1), 2, 100);
            // int4: K = 100 is no multiple of 128, which the AVX-512 int4 kernel needs
            WoqException int4 = assertThrows(WoqException.class, () -> natives.int4(m, x,
                    m.create(ByteBuffer.allocateDirect(OUT * 50), new Shape(OUT, 50), DataType.UINT8),
                    bf16(k, m, new float[OUT * 4], OUT, 4), bf16(k, m, new float[OUT * 4], OUT, 4)));
            assertNames(int4, "woq::int4_mm", "x [2, 100]", "nibbles [37, 50]");
            // int8: weights for K = 64 against x of K = 100
            WoqException int8 = assertThrows(WoqException.class, () -> natives.int8(m, x,
                    m.create(ByteBuffer.allocateDirect(OUT * 64), new Shape(OUT, 64), DataType.INT8),
                    bf16(k, m, new float[OUT], OUT)));
            assertNames(int8, "woq::int8_mm", "x [2, 100]", "q [37, 64]");
            // bf16: fp32 activations where bf16 belong
            PtNDArray f32 = (PtNDArray) m.create(randomFloats(200, 2), new Shape(2, 100));
            WoqException dtype = assertThrows(WoqException.class,
                    () -> natives.bf16(m, f32, bf16(k, m, new float[OUT * 100], OUT, 100)));
            assertNames(dtype, "woq::bf16_mm", "x must be a 2-d tensor of dtype 15", "dtype 6");

            // and the operators still compute afterwards
            float[] w = randomFloats(OUT * 100, 3);
            float[] y = toFloats(k, m, natives.bf16(m, x, bf16(k, m, w, OUT, 100)));
            assertClose(matmul(bf16Values(randomFloats(2 * 100, 1)), bf16Values(w), 2, OUT, 100), y, "bf16 after errors");
        }
    }

    @Test
    void bf16KernelTailsMatchAPlainMatmul() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            for (int in : TAIL_KS) {
                assertBf16MatchesAPlainMatmul(natives, rt.ops(), m, OUT, in, new int[] {1, 3, 8});
            }
        }
    }

    /**
     * The bf16 prompt tile (from 9 tokens, rows in 32s): inputs that end inside the first tile of
     * 1,024, one block of 32 past it, and in the third; tokens fewer than a register block of 12,
     * one block and a tail, two blocks and a tail.
     */
    @Test
    void bf16PromptTileMatchesAPlainMatmulAtEveryInputTail() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            for (int in : new int[] {32, 96, 1056, 2112}) {
                assertBf16MatchesAPlainMatmul(natives, rt.ops(), m, 64, in, new int[] {9, 13, 29});
            }
        }
    }

    private static void assertBf16MatchesAPlainMatmul(NativeOps natives, TorchOps k, PtNDManager m, int out, int in, int[] tokens) {
        float[] w = bf16Values(randomFloats(out * in, in));
        for (int rows : tokens) {
            float[] xs = bf16Values(randomFloats(rows * in, in * 10L + rows));
            float[] y = toFloats(k, m, natives.bf16(m, bf16(k, m, xs, rows, in), bf16(k, m, w, out, in)));
            assertClose(matmul(xs, w, rows, out, in), y, "bf16, " + out + " x " + in + ", " + rows + " rows");
        }
    }

    @Test
    void int8KernelTailsMatchAPlainMatmulOnDequantizedWeights() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            for (int in : TAIL_KS) {
                assertInt8MatchesAPlainMatmul(natives, rt.ops(), m, OUT, in, new int[] {1, 4});
            }
        }
    }

    /**
     * The int8 prompt tile (from 9 tokens, rows in 32s), whose codes go in 64 inputs at a time:
     * inputs that end half way through such a step in the first tile of 1,024 (32, 96) and right
     * after it (1,056).
     */
    @Test
    void int8PromptTileMatchesAPlainMatmulAtEveryInputTail() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = requireNatives(rt);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            for (int in : new int[] {32, 96, 1056}) {
                assertInt8MatchesAPlainMatmul(natives, rt.ops(), m, 64, in, new int[] {9, 29});
            }
        }
    }

    private static void assertInt8MatchesAPlainMatmul(NativeOps natives, TorchOps k, PtNDManager m, int out, int in, int[] tokens) {
        SplittableRandom r = new SplittableRandom(in);
        byte[] q = new byte[out * in];
        float[] scales = new float[out];
        float[] w = new float[out * in];
        for (int n = 0; n < out; n++) {
            scales[n] = bf16Values(new float[] {(float) (0.001 + 0.01 * r.nextDouble())})[0];
            for (int j = 0; j < in; j++) {
                q[n * in + j] = (byte) (r.nextInt(255) - 127);
                w[n * in + j] = q[n * in + j] * scales[n];
            }
        }
        ByteBuffer qb = ByteBuffer.allocateDirect(q.length).put(q).flip();
        for (int rows : tokens) {
            float[] xs = bf16Values(randomFloats(rows * in, in * 7L + rows));
            float[] y = toFloats(k, m, natives.int8(m, bf16(k, m, xs, rows, in),
                    m.create(qb.duplicate(), new Shape(out, in), DataType.INT8), bf16(k, m, scales, out)));
            assertClose(matmul(xs, w, rows, out, in), y, "int8, " + out + " x " + in + ", " + rows + " rows");
        }
    }

    /**
     * int4 whose K is a multiple of the group size but not of 128 (the AVX-512 kernel's step):
     * the loader does not hand it to that kernel, and the one it chooses (libtorch's, or AMX where
     * the CPU has it) computes the same product as a plain matmul on the dequantized weights.
     */
    @Test
    void int4WithKNotAMultipleOf128RunsOnAKernelThatTakesIt(@TempDir Path dir) {
        TorchRuntime rt = TorchRuntime.start(2);
        TorchOps k = rt.ops();
        int out = 64;
        for (int[] kg : new int[][] {{192, 64}, {160, 32}, {96, 32}}) {
            int in = kg[0];
            int group = kg[1];
            assertFalse(Int4Avx512Linear.fits(in, group));
            Path file = dir.resolve("k" + in + "-g" + group);
            float[] w = writeInt4(file, out, in, group, new SplittableRandom(in));
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                    MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(file))) {
                Linear linear = new LinearLoader(k, rt.natives(), m, weights).load("layer.weight", out, in);
                assertTrue(linear instanceof Int4Linear || linear instanceof Int4AmxLinear, linear.getClass().getName());
                for (int rows : new int[] {1, 3}) {
                    float[] xs = bf16Values(randomFloats(rows * in, in + rows));
                    float[] y = toFloats(k, m, linear.apply(m, bf16(k, m, xs, rows, in)));
                    assertClose(matmul(xs, w, rows, out, in), y, "int4 K " + in + " g" + group + ", " + rows + " rows");
                }
            }
        }
    }

    /** Random int4 codes, scales and zeros in woq's layout; returns the weights they dequantize to. */
    private static float[] writeInt4(Path dir, int out, int in, int group, SplittableRandom r) {
        int groups = in / group;
        byte[] nibbles = new byte[out * in / 2];
        float[] scales = new float[out * groups];
        float[] zeros = new float[out * groups];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) (0.001 + 0.01 * r.nextDouble());
            zeros[i] = (float) (0.05 * (r.nextDouble() - 0.5));
        }
        scales = bf16Values(scales);
        zeros = bf16Values(zeros);
        float[] w = new float[out * in];
        for (int n = 0; n < out; n++) {
            for (int j = 0; j < in; j++) {
                int q = r.nextInt(16);
                nibbles[(n * in + j) / 2] |= (byte) (j % 2 == 0 ? q : q << 4);
                w[n * in + j] = (q - 8) * scales[n * groups + j / group] + zeros[n * groups + j / group];
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<TensorDeclaration> decls = List.of(
                TensorDeclaration.of("layer.qweight", SafetensorsDtype.U8, out, in / 2),
                TensorDeclaration.of("layer.scales", SafetensorsDtype.BF16, out, groups),
                TensorDeclaration.of("layer.zeros", SafetensorsDtype.BF16, out, groups));
        try (SafetensorsWriter writer = new SafetensorsWriter(dir.resolve("model.safetensors"), decls)) {
            writer.writeTensor("layer.qweight", ByteBuffer.wrap(nibbles));
            writer.writeTensor("layer.scales", bf16Bytes(scales));
            writer.writeTensor("layer.zeros", bf16Bytes(zeros));
            writer.commit();
        }
        return w;
    }

    private static ByteBuffer bf16Bytes(float[] bf16Exact) {
        ByteBuffer b = ByteBuffer.allocate(bf16Exact.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : bf16Exact) {
            b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
        }
        return b.flip();
    }

    private static void assertNames(WoqException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "'" + p + "' missing from: " + e.getMessage()
                    + "\ncause: " + e.getCause());
        }
    }

    private static NativeOps requireNatives(TorchRuntime rt) {
        Assumptions.assumeTrue(rt.natives().ops().isPresent(), rt.natives().status());
        return rt.natives().ops().orElseThrow();
    }

    static float[] randomFloats(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] f = new float[count];
        for (int i = 0; i < count; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    /** Each value rounded to bf16 (round to nearest even), as a float. */
    static float[] bf16Values(float[] f) {
        float[] out = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            int bits = Float.floatToRawIntBits(f[i]);
            out[i] = Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
        }
        return out;
    }

    static PtNDArray bf16(TorchOps k, PtNDManager m, float[] values, long... shape) {
        return k.to(m, (PtNDArray) m.create(values, new Shape(shape)), TorchDtype.BFLOAT16);
    }

    static float[] toFloats(TorchOps k, PtNDManager m, PtNDArray a) {
        return k.toFloat(m, a).toFloatArray();
    }

    /** y [rows, out] = x [rows, in] times w [out, in] transposed, in double. */
    static float[] matmul(float[] x, float[] w, int rows, int out, int in) {
        float[] y = new float[rows * out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                double acc = 0;
                for (int j = 0; j < in; j++) {
                    acc += (double) x[i * in + j] * w[o * in + j];
                }
                y[i * out + o] = (float) acc;
            }
        }
        return y;
    }

    /** Relative error below 1%: the kernels round their bf16 result. */
    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        double err = 0;
        double norm = 0;
        for (int i = 0; i < got.length; i++) {
            err += (got[i] - want[i]) * (double) (got[i] - want[i]);
            norm += want[i] * (double) want[i];
        }
        double relative = Math.sqrt(err / norm);
        assertTrue(relative < 0.01, what + ": relative error " + relative);
    }
}
