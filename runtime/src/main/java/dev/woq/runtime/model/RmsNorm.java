package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/** RMSNorm as Hugging Face's {@code LlamaRMSNorm}: statistics in fp32, scale in bf16. */
public final class RmsNorm extends KernelBlock {
    private final PtNDArray weight; // [hidden] bf16
    private final double eps;

    public RmsNorm(Kernels kernels, PtNDArray weight, double eps) {
        super(kernels);
        this.weight = weight;
        this.eps = eps;
    }

    /** x: [tokens, hidden] bf16 → same shape. */
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return kernels.call(scope, "rms_norm", x, weight, eps);
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x);
    }
}
