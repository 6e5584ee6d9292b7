package dev.woq.runtime.engine;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.util.Arrays;

/**
 * Measures how fast this process can read memory: libtorch sums a 1 GiB fp32 tensor (far larger
 * than any cache) with the runtime's threads, and the best of several passes counts. Decode reads
 * every weight once per token, so this is the ceiling its GB/s is judged against.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    /** Bytes per second, best of {@code passes} reads of {@code bytes}. */
    public static double measure(TorchRuntime runtime, long bytes, int passes) {
        try (PtNDManager m = (PtNDManager) runtime.manager().newSubManager()) {
            PtNDArray x = (PtNDArray) m.ones(new Shape(bytes / 4 / 1024, 1024), DataType.FLOAT32);
            double[] rates = new double[passes];
            for (int i = 0; i < passes; i++) {
                try (PtNDManager step = (PtNDManager) m.newSubManager()) {
                    long t0 = System.nanoTime();
                    runtime.ops().sumFloat(step, x);
                    rates[i] = bytes / ((System.nanoTime() - t0) / 1e9);
                }
            }
            return Arrays.stream(rates).max().orElse(Double.NaN);
        }
    }
}
