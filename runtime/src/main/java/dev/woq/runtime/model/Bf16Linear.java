package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import java.util.Optional;

/**
 * A bf16 projection. The weight is the checkpoint's own bytes, mapped from the safetensors file:
 * no copy, and pages are shared with the OS cache. Up to {@link #NATIVE_MAX_ROWS} tokens (decode,
 * batched decode) run on woq's AVX-512 kernel ({@code woq::bf16_mm}) where it runs, which streams
 * the weight at the memory's speed; longer prompts, and every call without it, on libtorch's
 * oneDNN GEMM, whose blocking pays off once each weight is reused by many tokens.
 */
public final class Bf16Linear extends Projection {
    /** The most tokens woq's kernel takes; above, oneDNN is as fast or faster (benchmarks/RESULTS.md). */
    static final long NATIVE_MAX_ROWS = 8;
    private final PtNDArray weight; // [out, in] bf16
    private final NativeOps natives; // null: oneDNN only

    /** @param natives woq's kernels ({@link NativeOps}), or empty for oneDNN only */
    public Bf16Linear(TorchOps ops, Optional<NativeOps> natives, PtNDArray weight, int out, int in) {
        super(ops, out, in);
        this.weight = weight;
        this.natives = natives.orElse(null);
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        if (natives != null && x.getShape().get(0) <= NATIVE_MAX_ROWS) {
            return natives.bf16(scope, x, weight);
        }
        return ops.linearBf16(scope, x, weight);
    }

    @Override
    public long weightBytes() {
        return WeightFormat.BF16.storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.BF16;
    }
}
