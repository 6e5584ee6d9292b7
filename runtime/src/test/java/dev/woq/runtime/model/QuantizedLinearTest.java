package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.NativeKernels.Int4Activations;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kernel of every format (libtorch's, woq's AVX-512 and AMX ones where the CPU runs them),
 * fed woq's portable layout, against a plain bf16 matmul on the weights that layout dequantizes
 * to: they compute the same product, so the outputs agree to bf16 rounding of the result
 * (relative error below 1%). woq's int4 kernels run on bf16 activations and, where the CPU has
 * VNNI, on int8 ones, whose rounding of x (about 0.5%) stays within the same bound.
 */
class QuantizedLinearTest {
    static final int OUT = 96;
    /** Three of the AVX-512 kernels' 32-row blocks and a ragged tail. */
    static final int INT8_OUT = 100;
    /** The int4 prompt kernel's 1024-input tile and a tail of 256. */
    static final int IN = 1280;
    static final int TOKENS = 3;

    @Test
    void int4KernelsMatchBf16MatmulOnDequantizedWeights(@TempDir Path dir) {
        NativeKernels natives = TorchRuntime.start(2).natives();
        for (int group : new int[] {32, 64, 128}) {
            // 96 rows: three of the AVX-512 kernel's 32-row blocks, six AMX tiles; 100: a ragged
            // tail; 128: two of the 64-row blocks libtorch's int4 kernel packs
            for (int out : new int[] {96, 100, 128}) {
                Path sub = dir.resolve("g" + group + "-" + out);
                writeInt4(sub, out, group, new SplittableRandom(group * 1000L + out));
                // libtorch's kernel (the fallback): rows in blocks of 64 and a tail of 16, 32 or 48;
                // any other count is refused at load, naming the tensor
                if (out % 16 == 0) {
                    compare(sub, out, Int4Linear.class, "int4-g" + group, NativeKernels.none(), TOKENS);
                    compare(sub, out, Int4Linear.class, "int4-g" + group, NativeKernels.none(), 1);
                } else {
                    assertLibtorchRefuses(sub, out);
                }
                if (natives.ops().isEmpty()) {
                    continue;
                }
                // one token (four rows at once), 7 and 8 (rows sharing one pass); from 9 on, with 96
                // rows (whole tiles of 32), the prompt kernel: one block of 12 tokens and tails
                // (9, 16, 37 = 3 x 12 + 1, 130); with 100 rows the blocks of 8 and their tails
                List<Int4Activations> activations = natives.int8ActivationsAvailable()
                        ? List.of(Int4Activations.BF16, Int4Activations.INT8) : List.of(Int4Activations.BF16);
                for (Int4Activations a : activations) {
                    Int4Activations before = natives.useInt4Activations(a);
                    try {
                        for (int tokens : new int[] {1, 7, 8, 9, 16, 37, 130}) {
                            compare(sub, out, Int4Avx512Linear.class, "int4-g" + group, natives.withoutAmx(), tokens);
                            if (natives.amx() && out % 16 == 0) {
                                compare(sub, out, Int4AmxLinear.class, "int4-g" + group, natives, tokens);
                            }
                        }
                    } finally {
                        natives.useInt4Activations(before);
                    }
                }
            }
        }
    }

    private static void assertLibtorchRefuses(Path dir, int out) {
        TorchRuntime rt = TorchRuntime.start(2);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(rt.ops(), m, SafetensorsCheckpoint.open(dir))) {
            LinearLoader loader = new LinearLoader(rt.ops(), NativeKernels.none(), m, w);
            CheckpointException e = assertThrows(CheckpointException.class, () -> loader.load("layer.weight", out, IN));
            assertTrue(e.getMessage().contains("'layer.qweight' has " + out + " output rows")
                    && e.getMessage().contains("multiples of 16"), e.getMessage());
        }
    }

    private static void writeInt4(Path dir, int out, int group, SplittableRandom r) {
        int groups = IN / group;
        byte[] nibbles = new byte[out * IN / 2];
        short[] scales = new short[out * groups];
        short[] zeros = new short[out * groups];
        float[] dequant = new float[out * IN];
        for (int n = 0; n < out; n++) {
            for (int g = 0; g < groups; g++) {
                scales[n * groups + g] = bf16((float) (0.001 + 0.01 * r.nextDouble()));
                zeros[n * groups + g] = bf16((float) (0.05 * (r.nextDouble() - 0.5)));
            }
            for (int k = 0; k < IN; k++) {
                int q = r.nextInt(16);
                nibbles[(n * IN + k) / 2] |= (byte) (k % 2 == 0 ? q : q << 4);
                int g = k / group;
                dequant[n * IN + k] = (q - 8) * f32(scales[n * groups + g]) + f32(zeros[n * groups + g]);
            }
        }
        write(dir, List.of(
                tensor("layer.qweight", SafetensorsDtype.U8, bytes(nibbles), out, IN / 2),
                tensor("layer.scales", SafetensorsDtype.BF16, bytes(scales), out, groups),
                tensor("layer.zeros", SafetensorsDtype.BF16, bytes(zeros), out, groups),
                tensor("reference.weight", SafetensorsDtype.BF16, bytes(toBf16(dequant)), out, IN)));
    }

    /**
     * Where the CPU has AVX-512 BF16, every format runs on woq's kernels (int4 on AMX where the CPU
     * has tiles): a build without them would decode 2-3x slower, silently.
     */
    @Test
    void everyFormatRunsOnWoqsKernelsWhereTheCpuHasAvx512Bf16() throws java.io.IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        String flags = java.nio.file.Files.isReadable(cpuinfo) ? java.nio.file.Files.readString(cpuinfo) : "";
        Assumptions.assumeTrue(flags.contains(" avx512_bf16") && System.getenv(NativeKernels.SETTING) == null,
                "no AVX-512 BF16 on this machine");
        TorchRuntime rt = TorchRuntime.start(2);
        assertTrue(rt.natives().ops().isPresent(), rt.natives().status());
        assertEquals(flags.contains(" amx_bf16"), rt.natives().amx(), rt.natives().status());
        assertTrue(rt.describe().contains("kernels: woq AVX-512 BF16"), rt.describe());
    }

    @Test
    void int4PackedInJavaComputesExactlyWhatLibtorchsOwnPackingComputes(@TempDir Path dir) {
        SplittableRandom r = new SplittableRandom(5);
        int out = 192; // three 64-row blocks
        byte[] nibbles = new byte[out * IN / 2];
        r.nextBytes(nibbles);
        short[] scales = new short[out * IN / 64];
        short[] zeros = new short[out * IN / 64];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = bf16((float) (0.001 + 0.01 * r.nextDouble()));
            zeros[i] = bf16((float) (0.05 * (r.nextDouble() - 0.5)));
        }
        write(dir, List.of(
                tensor("layer.qweight", SafetensorsDtype.U8, bytes(nibbles), out, IN / 2),
                tensor("layer.scales", SafetensorsDtype.BF16, bytes(scales), out, IN / 64),
                tensor("layer.zeros", SafetensorsDtype.BF16, bytes(zeros), out, IN / 64)));
        TorchRuntime rt = TorchRuntime.start(2);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            var codes = w.checked("layer.qweight", SafetensorsDtype.U8, out, IN / 2);
            var s = w.checked("layer.scales", SafetensorsDtype.BF16, out, IN / 64);
            var z = w.checked("layer.zeros", SafetensorsDtype.BF16, out, IN / 64);
            Int4CpuPacking.Packer packer = new Int4CpuPacking.Packer(Int4CpuPacking.detect(k, m).orElseThrow());
            Int4Linear java = new Int4Linear(k, m, packer.pack(k, m, codes, out, IN), s, z, 64, out, IN);
            Int4Linear libtorch = new Int4Linear(k, m, codes, s, z, 64, out, IN);
            FloatBuffer xs = FloatBuffer.allocate(TOKENS * IN);
            for (int i = 0; i < TOKENS * IN; i++) {
                xs.put((float) r.nextGaussian());
            }
            xs.flip();
            PtNDArray x = k.to(m, (PtNDArray) m.create(xs, new Shape(TOKENS, IN), DataType.FLOAT32), TorchDtype.BFLOAT16);
            assertArrayEquals(k.toFloat(m, libtorch.apply(m, x)).toFloatArray(),
                    k.toFloat(m, java.apply(m, x)).toFloatArray());
        }
    }

    @Test
    void int8KernelMatchesBf16MatmulOnDequantizedWeights(@TempDir Path root) {
        // 96 rows: whole 32-row tiles, so prompts from 9 tokens run on woq's prompt kernel; 100: a
        // ragged tail, so they stay on libtorch's
        for (int out : new int[] {96, INT8_OUT}) {
            Path dir = root.resolve("o" + out);
            SplittableRandom r = new SplittableRandom(8 + out);
            byte[] codes = new byte[out * IN];
            short[] scales = new short[out];
            float[] dequant = new float[out * IN];
            for (int n = 0; n < out; n++) {
                scales[n] = bf16((float) (0.0001 + 0.001 * r.nextDouble()));
                for (int k = 0; k < IN; k++) {
                    codes[n * IN + k] = (byte) (r.nextInt(256) - 128);
                    dequant[n * IN + k] = codes[n * IN + k] * f32(scales[n]);
                }
            }
            write(dir, List.of(
                    tensor("layer.qweight", SafetensorsDtype.I8, bytes(codes), out, IN),
                    tensor("layer.scales", SafetensorsDtype.BF16, bytes(scales), out),
                    tensor("reference.weight", SafetensorsDtype.BF16, bytes(toBf16(dequant)), out, IN)));
            compare(dir, out, Int8Linear.class, "int8", NativeKernels.none(), TOKENS);
            NativeKernels natives = TorchRuntime.start(2).natives();
            if (natives.ops().isPresent()) {
                for (int tokens : new int[] {1, 2, 3, 4, 9, 16, 37, 130}) {
                    compare(dir, out, Int8Linear.class, "int8", natives, tokens);
                }
            }
        }
    }

    /**
     * woq's bf16 kernels against oneDNN's GEMM on the same mapped weight: the one-pass kernel up to
     * 8 tokens, and from 9 the prompt tile (96 rows: whole tiles of 32) with one block of 12 tokens
     * and tails; 100 rows (a tail of 4) leave prompts to oneDNN.
     */
    @Test
    void bf16KernelsMatchOneDnn(@TempDir Path root) {
        NativeKernels natives = TorchRuntime.start(2).natives();
        Assumptions.assumeTrue(natives.ops().isPresent(), natives.status());
        for (int out : new int[] {96, 100}) {
            Path dir = root.resolve("out" + out);
            SplittableRandom r = new SplittableRandom(16 + out);
            float[] w = new float[out * IN];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (0.05 * r.nextGaussian());
            }
            write(dir, List.of(tensor("layer.weight", SafetensorsDtype.BF16, bytes(toBf16(w)), out, IN)));
            assertEquals(out == 96, Projection.promptKernelFits(out, IN));
            TorchRuntime rt = TorchRuntime.start(2);
            TorchOps k = rt.ops();
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                    MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
                Linear own = new LinearLoader(k, natives, m, weights).load("layer.weight", out, IN);
                Linear oneDnn = new LinearLoader(k, NativeKernels.none(), m, weights).load("layer.weight", out, IN);
                for (int tokens : new int[] {1, 2, 3, 5, 8, 9, 12, 16, 37, 130}) {
                    PtNDArray x = randomX(k, m, tokens, tokens);
                    double relative = relativeError(
                            k.toFloat(m, own.apply(m, x)).toFloatArray(),
                            k.toFloat(m, oneDnn.apply(m, x)).toFloatArray());
                    // both sum exact products of bf16 in fp32 and round the result to bf16
                    assertTrue(relative < 0.005, "bf16, " + out + " rows, " + tokens + " tokens: relative error " + relative);
                }
            }
        }
    }

    @Test
    void codesOfTheWrongDtypeAreRefusedWithTheTensorName(@TempDir Path dir) {
        write(dir, List.of(
                tensor("layer.qweight", SafetensorsDtype.I32, ByteBuffer.allocate(OUT * IN * 4), OUT, IN),
                tensor("layer.scales", SafetensorsDtype.BF16, ByteBuffer.allocate(OUT * 2), OUT)));
        TorchRuntime rt = TorchRuntime.start(2);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(rt.ops(), m, SafetensorsCheckpoint.open(dir))) {
            LinearLoader loader = new LinearLoader(rt.ops(), rt.natives(), m, w);
            CheckpointException e = assertThrows(CheckpointException.class, () -> loader.load("layer.weight", OUT, IN));
            assertTrue(e.getMessage().contains("layer.qweight") && e.getMessage().contains("I32"), e.getMessage());
        }
    }

    private static void compare(Path dir, int out, Class<?> expectedType, String format, NativeKernels natives, int tokens) {
        TorchRuntime rt = TorchRuntime.start(2);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            LinearLoader loader = new LinearLoader(k, natives, m, w);
            Linear quantized = loader.load("layer.weight", out, IN);
            Linear reference = new LinearLoader(k, NativeKernels.none(), m, w).load("reference.weight", out, IN);
            assertInstanceOf(expectedType, quantized);
            assertEquals(format, quantized.format().id());
            if (quantized instanceof Int8Linear) {
                assertEquals(natives.ops().isPresent(), ((Int8Linear) quantized).isNative());
            }
            PtNDArray x = randomX(k, m, tokens, 1);
            double relative = relativeError(
                    k.toFloat(m, quantized.apply(m, x)).toFloatArray(),
                    k.toFloat(m, reference.apply(m, x)).toFloatArray());
            assertTrue(relative < 0.01, format + " on " + expectedType.getSimpleName() + " (" + natives.status() + "), "
                    + tokens + " tokens, " + out + " outputs: relative error " + relative);
        }
    }

    /** [tokens, IN] bf16, standard normal. */
    private static PtNDArray randomX(TorchOps k, PtNDManager m, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        FloatBuffer xs = FloatBuffer.allocate(tokens * IN);
        for (int i = 0; i < tokens * IN; i++) {
            xs.put((float) r.nextGaussian());
        }
        xs.flip();
        return k.to(m, (PtNDArray) m.create(xs, new Shape(tokens, IN), DataType.FLOAT32), TorchDtype.BFLOAT16);
    }

    /** ||got - want|| / ||want||. */
    private static double relativeError(float[] got, float[] want) {
        assertEquals(want.length, got.length);
        double err = 0;
        double norm = 0;
        for (int i = 0; i < got.length; i++) {
            err += (got[i] - want[i]) * (double) (got[i] - want[i]);
            norm += want[i] * (double) want[i];
        }
        return Math.sqrt(err / norm);
    }

    private static TensorSpec tensor(String name, SafetensorsDtype dtype, ByteBuffer data, long... shape) {
        return new TensorSpec(TensorDeclaration.of(name, dtype, shape), data);
    }

    private record TensorSpec(TensorDeclaration declaration, ByteBuffer data) {}

    private static void write(Path dir, List<TensorSpec> tensors) {
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try (SafetensorsWriter w = new SafetensorsWriter(dir.resolve("model.safetensors"),
                tensors.stream().map(TensorSpec::declaration).toList())) {
            for (TensorSpec t : tensors) {
                w.writeTensor(t.declaration().name(), t.data());
            }
            w.commit();
        }
    }

    private static ByteBuffer bytes(byte[] b) {
        return ByteBuffer.wrap(b);
    }

    private static ByteBuffer bytes(short[] s) {
        ByteBuffer b = ByteBuffer.allocate(s.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : s) {
            b.putShort(v);
        }
        return b.flip();
    }

    private static short[] toBf16(float[] f) {
        short[] out = new short[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = bf16(f[i]);
        }
        return out;
    }

    private static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static float f32(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }
}
