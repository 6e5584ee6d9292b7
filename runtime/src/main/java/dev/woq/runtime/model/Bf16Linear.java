package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.Kernels;

/**
 * A bf16 projection through libtorch's oneDNN GEMM. The weight is the checkpoint's own bytes,
 * mapped from the safetensors file: no copy, and pages are shared with the OS cache.
 */
public final class Bf16Linear extends Projection {
    private final PtNDArray weight; // [out, in] bf16

    public Bf16Linear(Kernels kernels, PtNDArray weight, int out, int in) {
        super(kernels, out, in);
        this.weight = weight;
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return kernels.call(scope, "linear_bf16", x, weight);
    }

    @Override
    public long weightBytes() {
        return 2L * in * out;
    }

    @Override
    public String format() {
        return "bf16";
    }
}
