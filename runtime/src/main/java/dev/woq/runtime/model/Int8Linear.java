package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.Kernels;

/**
 * A weight-only int8 projection: symmetric per output channel ({@code w = q * scale}), computed by
 * libtorch's fused {@code _weight_int8pack_mm} with bf16 activations on the int8 weights as stored
 * (plain row-major: mapped from the checkpoint, no repacking).
 */
public final class Int8Linear extends Projection {
    private final PtNDArray weight; // [out, in] int8
    private final PtNDArray scales; // [out] bf16

    public Int8Linear(Kernels kernels, PtNDArray weight, PtNDArray scales, int out, int in) {
        super(kernels, out, in);
        this.weight = weight;
        this.scales = scales;
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return kernels.call(scope, "linear_int8", x, weight, scales);
    }

    @Override
    public long weightBytes() {
        return (long) out * in + 2L * out;
    }

    @Override
    public String format() {
        return "int8";
    }
}
