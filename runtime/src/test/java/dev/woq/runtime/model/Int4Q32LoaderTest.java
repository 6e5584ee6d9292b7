package dev.woq.runtime.model;

import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16Values;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.randomFloats;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.toFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint holding a projection in int4-q32's layout ({@code P.qweight} U8, {@code P.scales}
 * and {@code P.zeros} U8 codes, {@code P.scale_max} F32) loads through {@link LinearLoader} onto
 * woq's int4-q32 kernel, or, without woq's kernels, onto libtorch's int4 kernel with the codes
 * expanded to bf16; both compute the format's weights. A damaged layout is refused at load,
 * naming the tensor and its file.
 */
class Int4Q32LoaderTest {
    /** Three of the prompt kernel's 32-row tiles; a multiple of 16, as libtorch's int4 kernel needs. */
    static final int OUT = 96;
    /** The prompt kernel's 1024-input tile and a tail of 256. */
    static final int IN = 1280;
    static final int[] TOKENS = {1, 4, 40};
    /**
     * libtorch's path rounds each group's scale and zero to bf16 (up to 2^-8 of each): a weight
     * (q - 8) * scale + zero moves by up to 2^-8 * (8 + 8) = 1/16 of its group's scale, but the
     * moves of a sum's 1280 terms are independent, so they add little to the bf16 rounding of the
     * output itself (about 2^-8 / sqrt(3) = 0.23 % rms). Measured: 0.18-0.25 % rms, cosine
     * 0.999997-0.999998; the bounds leave twice and three times that.
     */
    static final double LIBTORCH_RELATIVE_RMS = 0.005;
    static final double LIBTORCH_COSINE = 0.99999;

    @Test
    void int4q32RunsOnWoqsKernelAsItsDefinitionSays(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 7);
        write(dir, tensors(q));
        assertRunsOnWoqsKernel(dir, q);
    }

    /**
     * Codes 4 bytes off a cache line (scale_max stored before them, as entries written before woq
     * aligned its tensors have them) are copied into aligned memory and give the same results.
     */
    @Test
    void int4q32CodesOffACacheLineRunTheSame(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 7);
        List<Tensor> t = new ArrayList<>(tensors(q));
        t.add(0, t.remove(3));
        write(dir, t);
        assertEquals(4, SafetensorsCheckpoint.open(dir).tensor("layer.qweight").fileOffset() % 64);
        assertRunsOnWoqsKernel(dir, q);
    }

    private static void assertRunsOnWoqsKernel(Path dir, Int4Q32Matrix q) {
        TorchRuntime rt = TorchRuntime.start(2);
        Int4Q32Matrix.requireNatives(rt);
        TorchOps k = rt.ops();
        float[] w = q.weights();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            // woq's kernels as this CPU runs them, AMX included: int4-q32 never goes to the AMX kernel
            Linear linear = new LinearLoader(k, rt.natives(), m, weights).load("layer.weight", OUT, IN);
            assertInstanceOf(Int4Q32Avx512Linear.class, linear);
            assertEquals(WeightFormat.INT4_Q32, linear.format());
            assertEquals(WeightFormat.INT4_Q32.storedBytes(OUT, IN), linear.weightBytes());
            Int4Q32Matrix.onBf16Activations(rt, () -> {
                for (int tokens : TOKENS) {
                    float[] x = bf16Values(randomFloats(tokens * IN, tokens));
                    float[] y = toFloats(k, m, linear.apply(m, bf16(k, m, x, tokens, IN)));
                    Int4Q32Matrix.assertMatches(Int4Q32Matrix.reference(x, w, tokens, OUT, IN), y,
                            Int4Q32KernelTest.RELATIVE, Int4Q32KernelTest.COSINE, "woq's kernel, " + tokens + " tokens");
                }
            });
        }
    }

    @Test
    void int4q32RunsOnLibtorchWithItsScalesAndZerosRoundedToBf16(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 8);
        write(dir, tensors(q));
        TorchRuntime rt = TorchRuntime.start(2);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            Linear linear = new LinearLoader(k, NativeKernels.none(), m, weights).load("layer.weight", OUT, IN);
            assertInstanceOf(Int4Linear.class, linear);
            assertLibtorchMatches(linear, q, k, m);
        }
    }

    /** K = 160 (five groups) is no multiple of 128, the AVX-512 kernel's step: libtorch's int4 kernel runs it. */
    @Test
    void int4q32WithKNotAMultipleOf128RunsOnLibtorchsKernel(@TempDir Path dir) {
        int in = 160;
        assertFalse(Int4Q32Avx512Linear.fits(in));
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, in, 12);
        write(dir, tensors(q));
        TorchRuntime rt = TorchRuntime.start(2);
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            Linear linear = new LinearLoader(k, rt.natives(), m, weights).load("layer.weight", OUT, in);
            assertInstanceOf(Int4Linear.class, linear);
            assertLibtorchMatches(linear, q, k, m);
        }
    }

    /** linear, on libtorch's int4 kernel, against q's definition within the LIBTORCH_ bounds. */
    private static void assertLibtorchMatches(Linear linear, Int4Q32Matrix q, TorchOps k, PtNDManager m) {
        assertEquals(WeightFormat.INT4_Q32, linear.format());
        assertEquals(new WeightFormat.Int4(32).storedBytes(q.out(), q.in()), linear.weightBytes(),
                "what libtorch's kernel reads: the codes expanded to bf16 scales and zeros");
        float[] w = q.weights();
        int in = q.in();
        for (int tokens : TOKENS) {
            float[] x = bf16Values(randomFloats(tokens * in, tokens));
            float[] y = toFloats(k, m, linear.apply(m, bf16(k, m, x, tokens, in)));
            double[] want = Int4Q32Matrix.reference(x, w, tokens, q.out(), in)[0];
            double err = 0;
            double norm = 0;
            double dot = 0;
            double gg = 0;
            for (int i = 0; i < y.length; i++) {
                err += (y[i] - want[i]) * (y[i] - want[i]);
                norm += want[i] * want[i];
                dot += y[i] * want[i];
                gg += (double) y[i] * y[i];
            }
            double relative = Math.sqrt(err / norm);
            double cosine = dot / Math.sqrt(gg * norm);
            assertTrue(relative < LIBTORCH_RELATIVE_RMS && cosine > LIBTORCH_COSINE, "libtorch, K " + in + ", "
                    + tokens + " tokens: relative rms error " + relative + ", cosine " + cosine);
        }
    }

    @Test
    void truncatedScaleCodesAreRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 9);
        List<Tensor> t = tensors(q);
        int groups = q.groups() - 1;
        t.set(1, new Tensor("layer.scales", SafetensorsDtype.U8, ByteBuffer.wrap(new byte[OUT * groups]), OUT, groups));
        write(dir, t);
        assertRefused(dir, "'layer.scales'", "model.safetensors", "[96, 39]", "[96, 40]");
    }

    /** Signed scale codes are no layout woq knows: not int4-q32's (U8), nor int4's bf16 scales. */
    @Test
    void scaleCodesOfTheWrongDtypeAreRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 13);
        List<Tensor> t = tensors(q);
        t.set(1, new Tensor("layer.scales", SafetensorsDtype.I8, ByteBuffer.wrap(q.scaleCodes()), OUT, q.groups()));
        write(dir, t);
        assertRefused(dir, "'layer.scales'", "model.safetensors", "I8");
    }

    @Test
    void zeroCodesOfTheWrongDtypeAreRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 10);
        List<Tensor> t = tensors(q);
        t.set(2, new Tensor("layer.zeros", SafetensorsDtype.BF16, ByteBuffer.allocate(OUT * q.groups() * 2), OUT, q.groups()));
        write(dir, t);
        assertRefused(dir, "'layer.zeros'", "model.safetensors", "BF16", "U8");
    }

    @Test
    void aScaleMaxThatIsNoNumberIsRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int4Q32Matrix q = Int4Q32Matrix.random(OUT, IN, 11);
        List<Tensor> t = tensors(q);
        t.set(3, new Tensor("layer.scale_max", SafetensorsDtype.F32, f32(Float.NaN), 1));
        write(dir, t);
        assertRefused(dir, "'layer.scale_max'", "model.safetensors", "NaN");
    }

    /** Refused at load both where woq's kernels run and on libtorch's. */
    private static void assertRefused(Path dir, String... parts) {
        TorchRuntime rt = TorchRuntime.start(2);
        for (NativeKernels natives : new NativeKernels[] {rt.natives(), NativeKernels.none()}) {
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                    MappedWeights weights = new MappedWeights(rt.ops(), m, SafetensorsCheckpoint.open(dir))) {
                LinearLoader loader = new LinearLoader(rt.ops(), natives, m, weights);
                CheckpointException e = assertThrows(CheckpointException.class, () -> loader.load("layer.weight", OUT, IN));
                for (String p : parts) {
                    assertTrue(e.getMessage().contains(p), () -> "'" + p + "' missing from: " + e.getMessage());
                }
            }
        }
    }

    private record Tensor(String name, SafetensorsDtype dtype, ByteBuffer data, long... shape) {}

    /** q in the layout WeightFormat.Int4Q32.storedTensors describes. */
    private static List<Tensor> tensors(Int4Q32Matrix q) {
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("layer.qweight", SafetensorsDtype.U8, ByteBuffer.wrap(q.nibbles()), q.out(), q.in() / 2));
        t.add(new Tensor("layer.scales", SafetensorsDtype.U8, ByteBuffer.wrap(q.scaleCodes()), q.out(), q.groups()));
        t.add(new Tensor("layer.zeros", SafetensorsDtype.U8, ByteBuffer.wrap(q.zeroCodes()), q.out(), q.groups()));
        t.add(new Tensor("layer.scale_max", SafetensorsDtype.F32, f32(q.scaleMax()), 1));
        List<WeightFormat.StoredTensor> layout = WeightFormat.INT4_Q32.storedTensors("layer.weight", q.out(), q.in());
        for (int i = 0; i < layout.size(); i++) {
            assertEquals(layout.get(i).name(), t.get(i).name());
        }
        return t;
    }

    private static ByteBuffer f32(float f) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(f).flip();
    }

    private static void write(Path dir, List<Tensor> tensors) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<TensorDeclaration> decls = tensors.stream().map(t -> TensorDeclaration.of(t.name(), t.dtype(), t.shape())).toList();
        try (SafetensorsWriter w = new SafetensorsWriter(dir.resolve("model.safetensors"), decls)) {
            for (Tensor t : tensors) {
                w.writeTensor(t.name(), t.data());
            }
            w.commit();
        }
    }
}
