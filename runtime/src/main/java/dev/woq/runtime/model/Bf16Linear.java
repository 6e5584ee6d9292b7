package dev.woq.runtime.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/**
 * A bf16 projection through libtorch's oneDNN GEMM. The weight is the checkpoint's own bytes,
 * mapped from the safetensors file: no copy, and pages are shared with the OS cache.
 */
public final class Bf16Linear extends KernelBlock implements Linear {
    private final PtNDArray weight; // [out, in] bf16
    private final int in;
    private final int out;

    public Bf16Linear(Kernels kernels, PtNDArray weight, int out, int in) {
        super(kernels);
        this.weight = weight;
        this.in = in;
        this.out = out;
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return kernels.call(scope, "linear_bf16", x, weight);
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), out)};
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
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
