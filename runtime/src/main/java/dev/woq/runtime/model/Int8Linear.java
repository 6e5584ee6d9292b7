package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import java.util.Optional;

/**
 * A weight-only int8 projection: symmetric per output channel ({@code w = q * scale}), with bf16
 * activations, on the int8 weights as stored (plain row-major: mapped from the checkpoint, no
 * repacking). Up to {@link #NATIVE_MAX_ROWS} tokens (decode, small batches) run on woq's AVX-512
 * kernel ({@code woq::int8_mm}) where it runs, and so do prompts from {@link #PROMPT_MIN_ROWS}
 * tokens where the rows come in whole tiles ({@link Projection#promptKernelFits}): woq's prompt kernel
 * dequantizes a tile of weights to bf16 once and passes every token over it (woq_avx512.cpp),
 * several times the rate of libtorch's {@code _weight_int8pack_mm} (benchmarks/RESULTS.md).
 * Everything else, and every call without woq's kernels, runs on libtorch's, which is as fast as
 * woq's one-pass kernel from 4 tokens on.
 */
public final class Int8Linear extends Projection {
    /** The most tokens woq's kernel takes. */
    static final long NATIVE_MAX_ROWS = 4;
    /** The fewest tokens woq's prompt kernel takes (below, rows share one pass over the weights). */
    static final long PROMPT_MIN_ROWS = 9;
    private final PtNDArray weight; // [out, in] int8
    private final PtNDArray scales; // [out] bf16
    private final NativeOps natives; // null: libtorch's kernel

    /** @param natives woq's kernels ({@link NativeOps}), or empty for libtorch's */
    public Int8Linear(TorchOps ops, Optional<NativeOps> natives, PtNDArray weight, PtNDArray scales, int out, int in) {
        super(ops, out, in);
        this.weight = weight;
        this.scales = scales;
        this.natives = natives.orElse(null);
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        long rows = x.getShape().get(0);
        if (natives != null && (rows <= NATIVE_MAX_ROWS || rows >= PROMPT_MIN_ROWS && promptKernelFits(out, in))) {
            return natives.int8(scope, x, weight, scales);
        }
        return ops.linearInt8(scope, x, weight, scales);
    }

    /** Whether woq's kernel computes this projection's short calls. */
    boolean isNative() {
        return natives != null;
    }

    @Override
    public long weightBytes() {
        return WeightFormat.INT8.storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT8;
    }
}
