package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint holding one projection in int8-g32 ({@code layer.qweight} I8 [out, in],
 * {@code layer.scales} bf16 [out, in/32]) loads as an {@link Int8G32Linear} on woq's kernels and
 * on libtorch's ({@link NativeKernels#none()}), and both compute {@link Int8G32Reference}'s
 * product; a layout that is not int8-g32's is refused naming the tensor and its file.
 */
class Int8G32LoaderTest {
    static final int OUT = 96; // three 32-row tiles: 40 tokens take the prompt path
    static final int IN = 1024;

    @Test
    void int8G32CheckpointRunsOnWoqKernelsAndOnLibtorchAndMatchesTheReference(@TempDir Path dir) {
        Int8G32Reference w = Int8G32Reference.random(OUT, IN, 11);
        write(dir, w.scaleBytes(), SafetensorsDtype.BF16, OUT, IN / 32, w);
        TorchRuntime rt = TorchRuntime.start(2);
        // woq's kernels: within half a bf16 step of each output (see Int8G32Reference.assertMatches).
        // libtorch: the weights dequantized to bf16 (each q * scale rounded, by up to 2^-9 of it)
        // move each output by a random sum of those roundings, about 1e-3 of the outputs' rms (the
        // floor of 1e-2 is 8 such deviations); the cosine still holds to 0.99999.
        if (rt.natives().ops().isPresent()) {
            check(dir, rt, rt.natives(), w, true, 1e-4);
        }
        check(dir, rt, NativeKernels.none(), w, false, 1e-2);
    }

    private static void check(Path dir, TorchRuntime rt, NativeKernels natives, Int8G32Reference w, boolean onWoq,
            double floorOfRms) {
        TorchOps k = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                MappedWeights weights = new MappedWeights(k, m, SafetensorsCheckpoint.open(dir))) {
            Linear linear = new LinearLoader(k, natives, m, weights).load("layer.weight", OUT, IN);
            Int8G32Linear g32 = assertInstanceOf(Int8G32Linear.class, linear);
            assertEquals(onWoq, g32.isNative());
            assertEquals(WeightFormat.INT8_G32, linear.format());
            assertEquals((long) OUT * IN + (long) OUT * (IN / 32) * 2, linear.weightBytes());
            for (int tokens : new int[] {1, 40}) {
                float[] x = Int8G32Reference.randomX(tokens, IN, tokens);
                PtNDArray xt = k.to(m, (PtNDArray) m.create(x, new Shape(tokens, IN)), TorchDtype.BFLOAT16);
                float[] got = k.toFloat(m, linear.apply(m, xt)).toFloatArray();
                Int8G32Reference.assertMatches(w.times(x, tokens), got, 0x1p-8, floorOfRms,
                        "int8-g32 loaded " + (onWoq ? "on woq's kernels" : "on libtorch") + ", " + tokens + " tokens");
            }
        }
    }

    @Test
    void scalesOfTheWrongShapeAreRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int8G32Reference w = Int8G32Reference.random(OUT, IN, 12);
        // one scale per 64 inputs: a rank-2 scales tensor is int8-g32's, whose groups are 32 wide
        write(dir, ByteBuffer.allocate(OUT * (IN / 64) * 2), SafetensorsDtype.BF16, OUT, IN / 64, w);
        CheckpointException e = refusal(dir);
        assertTrue(e.getMessage().contains("'layer.scales'") && e.getMessage().contains("model.safetensors")
                && e.getMessage().contains("[96, 16]") && e.getMessage().contains("[96, 32]"), e.getMessage());
    }

    @Test
    void scalesOfTheWrongDtypeAreRefusedNamingTheTensorAndFile(@TempDir Path dir) {
        Int8G32Reference w = Int8G32Reference.random(OUT, IN, 13);
        write(dir, ByteBuffer.allocate(OUT * (IN / 32) * 4), SafetensorsDtype.F32, OUT, IN / 32, w);
        CheckpointException e = refusal(dir);
        assertTrue(e.getMessage().contains("'layer.scales'") && e.getMessage().contains("model.safetensors")
                && e.getMessage().contains("F32") && e.getMessage().contains("BF16"), e.getMessage());
    }

    /** What loading layer.weight from dir throws, on woq's kernels where they run and on libtorch's. */
    private static CheckpointException refusal(Path dir) {
        TorchRuntime rt = TorchRuntime.start(2);
        CheckpointException last = null;
        for (NativeKernels natives : List.of(rt.natives(), NativeKernels.none())) {
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                    MappedWeights weights = new MappedWeights(rt.ops(), m, SafetensorsCheckpoint.open(dir))) {
                LinearLoader loader = new LinearLoader(rt.ops(), natives, m, weights);
                last = assertThrows(CheckpointException.class, () -> loader.load("layer.weight", OUT, IN));
            }
        }
        return last;
    }

    /** layer.qweight from w, and layer.scales as given. */
    private static void write(Path dir, ByteBuffer scales, SafetensorsDtype scalesDtype, long rows, long cols,
            Int8G32Reference w) {
        List<TensorDeclaration> declared = List.of(
                TensorDeclaration.of("layer.qweight", SafetensorsDtype.I8, OUT, IN),
                TensorDeclaration.of("layer.scales", scalesDtype, rows, cols));
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (SafetensorsWriter out = new SafetensorsWriter(dir.resolve("model.safetensors"), declared)) {
            out.writeTensor("layer.qweight", w.codeBytes());
            out.writeTensor("layer.scales", scales);
            out.commit();
        }
    }
}
