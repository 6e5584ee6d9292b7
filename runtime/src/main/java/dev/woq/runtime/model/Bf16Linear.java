package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import java.util.Optional;

/**
 * A bf16 projection. The weight is the checkpoint's own bytes, mapped from the safetensors file:
 * no copy, and pages are shared with the OS cache. Where woq's AVX-512 kernels run, calls go to
 * {@code woq::bf16_mm}: up to {@link #NATIVE_MAX_ROWS} tokens (decode, batched decode) stream the
 * weight at the memory's speed in one pass, and from 9 tokens, when the rows come in whole tiles
 * ({@link Projection#promptKernelFits}), the kernel runs its prompt tile, which transposes a tile of weight
 * rows into VDPBF16PS's layout once and passes every token over it, at the instruction's limit
 * from about 512 tokens (benchmarks/RESULTS.md; oneDNN's GEMM matched it on a Zen 4 host and ran
 * at 52-57% of it on a Zen 5 one). Other prompt shapes, and every call without woq's kernels, run
 * on libtorch's oneDNN GEMM.
 */
public final class Bf16Linear extends Projection {
    /** The most tokens that share one pass over the weights; above, woq's prompt tile where it fits. */
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
        long rows = x.getShape().get(0);
        if (natives != null && (rows <= NATIVE_MAX_ROWS || promptKernelFits(out, in))) {
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
