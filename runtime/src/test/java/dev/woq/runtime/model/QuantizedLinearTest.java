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
import dev.woq.runtime.engine.Kernels;
import dev.woq.runtime.engine.NativeInt4;
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
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused int4 and int8 kernels, fed woq's portable layout, against a plain bf16 matmul on the
 * weights that layout dequantizes to: they compute the same product, so the outputs agree to
 * bf16 rounding of the result (relative error below 1%).
 */
class QuantizedLinearTest {
    static final int OUT = 96;
    static final int IN = 256;
    static final int TOKENS = 3;

    @Test
    void int4KernelMatchesBf16MatmulOnDequantizedWeights(@TempDir Path dir) {
        for (int group : new int[] {32, 64, 128}) {
            SplittableRandom r = new SplittableRandom(group);
            int groups = IN / group;
            byte[] nibbles = new byte[OUT * IN / 2];
            short[] scales = new short[OUT * groups];
            short[] zeros = new short[OUT * groups];
            float[] dequant = new float[OUT * IN];
            for (int n = 0; n < OUT; n++) {
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
            Path sub = dir.resolve("g" + group);
            write(sub, List.of(
                    tensor("layer.qweight", SafetensorsDtype.U8, bytes(nibbles), OUT, IN / 2),
                    tensor("layer.scales", SafetensorsDtype.BF16, bytes(scales), OUT, groups),
                    tensor("layer.zeros", SafetensorsDtype.BF16, bytes(zeros), OUT, groups),
                    tensor("reference.weight", SafetensorsDtype.BF16, bytes(toBf16(dequant)), OUT, IN)));
            compare(sub, Int4Linear.class, "int4-g" + group, Optional.empty(), TOKENS);
            Optional<Kernels> amx = TorchRuntime.start(2).int4().kernels();
            if (amx.isPresent()) {
                // one row, then two 16-row tile chunks and a tail of 5
                compare(sub, Int4AmxLinear.class, "int4-g" + group, amx, 1);
                compare(sub, Int4AmxLinear.class, "int4-g" + group, amx, 37);
            }
        }
    }

    /** Where the CPU has AMX tiles, int4 runs on woq's kernel: a build without it would be 2x slower, silently. */
    @Test
    void int4RunsOnTheAmxKernelWhereTheCpuHasAmx() throws java.io.IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        Assumptions.assumeTrue(java.nio.file.Files.isReadable(cpuinfo)
                && java.nio.file.Files.readString(cpuinfo).contains(" amx_bf16")
                && System.getenv(NativeInt4.SETTING) == null, "no AMX on this machine");
        TorchRuntime rt = TorchRuntime.start(2);
        assertTrue(rt.int4().kernels().isPresent(), rt.int4().status());
        assertTrue(rt.describe().contains("int4 kernel: woq AMX"), rt.describe());
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
        Kernels k = rt.kernels();
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
            PtNDArray x = k.call(m, "to_dtype", m.create(xs, new Shape(TOKENS, IN), DataType.FLOAT32), 15L);
            assertArrayEquals(k.call(m, "to_float", libtorch.apply(m, x)).toFloatArray(),
                    k.call(m, "to_float", java.apply(m, x)).toFloatArray());
        }
    }

    @Test
    void int8KernelMatchesBf16MatmulOnDequantizedWeights(@TempDir Path dir) {
        SplittableRandom r = new SplittableRandom(8);
        byte[] codes = new byte[OUT * IN];
        short[] scales = new short[OUT];
        float[] dequant = new float[OUT * IN];
        for (int n = 0; n < OUT; n++) {
            scales[n] = bf16((float) (0.0001 + 0.001 * r.nextDouble()));
            for (int k = 0; k < IN; k++) {
                codes[n * IN + k] = (byte) (r.nextInt(256) - 128);
                dequant[n * IN + k] = codes[n * IN + k] * f32(scales[n]);
            }
        }
        write(dir, List.of(
                tensor("layer.qweight", SafetensorsDtype.I8, bytes(codes), OUT, IN),
                tensor("layer.scales", SafetensorsDtype.BF16, bytes(scales), OUT),
                tensor("reference.weight", SafetensorsDtype.BF16, bytes(toBf16(dequant)), OUT, IN)));
        compare(dir, Int8Linear.class, "int8", Optional.empty(), TOKENS);
    }

    @Test
    void codesOfTheWrongDtypeAreRefusedWithTheTensorName(@TempDir Path dir) {
        write(dir, List.of(
                tensor("layer.qweight", SafetensorsDtype.I32, ByteBuffer.allocate(OUT * IN * 4), OUT, IN),
                tensor("layer.scales", SafetensorsDtype.BF16, ByteBuffer.allocate(OUT * 2), OUT)));
        TorchRuntime rt = TorchRuntime.start(2);
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(rt.kernels(), m, SafetensorsCheckpoint.open(dir))) {
            LinearLoader loader = new LinearLoader(rt.kernels(), rt.int4().kernels(), m, w);
            CheckpointException e = assertThrows(CheckpointException.class, () -> loader.load("layer.weight", OUT, IN));
            assertTrue(e.getMessage().contains("layer.qweight") && e.getMessage().contains("I32"), e.getMessage());
        }
    }

    private static void compare(Path dir, Class<?> expectedType, String format, Optional<Kernels> int4Amx, int tokens) {
        TorchRuntime rt = TorchRuntime.start(2);
        Kernels k = rt.kernels();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights w = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            LinearLoader loader = new LinearLoader(k, int4Amx, m, w);
            Linear quantized = loader.load("layer.weight", OUT, IN);
            Linear reference = loader.load("reference.weight", OUT, IN);
            assertInstanceOf(expectedType, quantized);
            assertEquals(format, quantized.format());
            SplittableRandom r = new SplittableRandom(1);
            FloatBuffer xs = FloatBuffer.allocate(tokens * IN);
            for (int i = 0; i < tokens * IN; i++) {
                xs.put((float) r.nextGaussian());
            }
            xs.flip();
            PtNDArray x = k.call(m, "to_dtype", m.create(xs, new Shape(tokens, IN), DataType.FLOAT32), 15L);
            float[] got = k.call(m, "to_float", quantized.apply(m, x)).toFloatArray();
            float[] want = k.call(m, "to_float", reference.apply(m, x)).toFloatArray();
            double err = 0;
            double norm = 0;
            for (int i = 0; i < got.length; i++) {
                err += (got[i] - want[i]) * (double) (got[i] - want[i]);
                norm += want[i] * (double) want[i];
            }
            double relative = Math.sqrt(err / norm);
            assertTrue(relative < 0.01, format + " on " + expectedType.getSimpleName() + ", " + tokens
                    + " tokens: relative error " + relative);
        }
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
