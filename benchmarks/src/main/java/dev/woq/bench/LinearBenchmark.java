package dev.woq.bench;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.Linear;
import dev.woq.runtime.model.LinearLoader;
import dev.woq.runtime.model.MappedWeights;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * woq's linear blocks ({@code Bf16Linear}, {@code Int8Linear}, int4 with groups of 128) at
 * Llama-3-8B's matrix shapes, at one token (decode: reads every weight once) and at 128
 * tokens (a prompt). Loaded exactly as the model loads them: mapped from a safetensors file in
 * woq's layout, int4 repacked for this CPU. Before timing, the output is checked against a bf16
 * matmul on the (dequantized) weights, so a broken kernel cannot post a fast number.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LinearBenchmark {
    /** out x in: q/o, k/v, gate/up, down, and the LM head. */
    @Param({"4096x4096", "1024x4096", "14336x4096", "4096x14336", "128256x4096"})
    public String shape;

    /**
     * Each format on the kernel the model picks here (woq's where the CPU runs them: AVX-512 BF16,
     * int4 on AMX tiles where it has them) and, with {@code -libtorch}, on libtorch's.
     */
    @Param({"bf16", "bf16-libtorch", "int8", "int8-libtorch", "int4", "int4-libtorch"})
    public String format;

    @Param({"1", "128"})
    public int tokens;

    private Path dir;
    private PtNDManager manager;
    private MappedWeights weights;
    private Linear linear;
    private PtNDArray x;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        String[] dims = shape.split("x");
        int out = Integer.parseInt(dims[0]);
        int in = Integer.parseInt(dims[1]);
        TorchRuntime torch = TorchRuntime.start();
        dir = Files.createTempDirectory("woq-jmh-linear-");
        BenchWeights.write(dir, format.replace("-libtorch", ""), out, in);
        manager = (PtNDManager) torch.manager().newSubManager();
        weights = new MappedWeights(torch.ops(), manager, SafetensorsCheckpoint.open(dir));
        LinearLoader loader = new LinearLoader(torch.ops(),
                format.endsWith("-libtorch") ? NativeKernels.none() : torch.natives(), manager, weights);
        linear = loader.load("w.weight", out, in);
        x = randomBf16(torch.ops(), manager, tokens, in, 1);
        check(torch.ops(), new LinearLoader(torch.ops(), NativeKernels.none(), manager, weights)
                .load("check.weight", Math.min(BenchWeights.CHECK_ROWS, out), in));
    }

    /** The first output columns must match a bf16 matmul on the first rows' (dequantized) weights. */
    private void check(TorchOps ops, Linear reference) {
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            float[] got = ops.toFloat(scope, linear.apply(scope, x)).toFloatArray();
            float[] want = ops.toFloat(scope, reference.apply(scope, x)).toFloatArray();
            double relative = relativeError(got, linear.outFeatures(), want, reference.outFeatures(), tokens);
            if (!(relative < 0.02)) {
                throw new IllegalStateException(format + " " + shape + " x " + tokens + " tokens: relative error "
                        + relative + " against a bf16 matmul on the dequantized weights");
            }
        }
    }

    /**
     * ||got - want|| / ||want|| over the first {@code rows} of {@code out} outputs of each token:
     * got is [tokens, out], want is [tokens, rows].
     */
    static double relativeError(float[] got, int out, float[] want, int rows, int tokens) {
        double err = 0;
        double norm = 0;
        for (int t = 0; t < tokens; t++) {
            for (int n = 0; n < rows; n++) {
                double d = got[t * out + n] - want[t * rows + n];
                err += d * d;
                norm += (double) want[t * rows + n] * want[t * rows + n];
            }
        }
        return Math.sqrt(err / norm);
    }

    @Benchmark
    public long linear() {
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            return linear.apply(scope, x).getShape().get(0);
        }
    }

    /** Bytes of weights one call reads (codes, scales, zeros): divide by the time for GB/s. */
    public long weightBytes() {
        return linear.weightBytes();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        weights.close();
        manager.close();
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /** [rows, cols] bf16, standard normal, from {@code seed}. */
    static PtNDArray randomBf16(TorchOps ops, PtNDManager manager, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextGaussian();
        }
        return ops.to(manager, (PtNDArray) manager.create(values, new Shape(rows, cols)), TorchDtype.BFLOAT16);
    }
}
