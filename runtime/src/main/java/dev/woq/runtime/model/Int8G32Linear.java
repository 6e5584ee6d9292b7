package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.format.WeightFormat;

/**
 * A weight-only int8-g32 projection ({@link WeightFormat.Int8G32}): int8 codes with a bf16 scale
 * per group of 32 inputs, {@code w = q * scale[group]}, bf16 activations.
 *
 * <p>On woq's kernels ({@code woq::int8g32_mm}) every call runs on the codes and scales as mapped:
 * decode takes each group's fp32 sum of {@code q * x} times its scale, prompts go through the
 * same tiles as int8's with the scales applied per group (woq_avx512.cpp). libtorch has no kernel
 * for a scale per group of int8 codes, so without woq's kernels the weight is dequantized at load
 * into bf16 ({@code q * scale} rounded once) and runs on oneDNN's bf16 matmul: correct, but it
 * holds 2 bytes a weight in memory instead of 1.06 and decodes at bf16's speed.
 */
public final class Int8G32Linear extends Projection {
    private final NativeOps natives; // null: libtorch on the dequantized weight
    private final PtNDArray codes; // [out, in] int8, or null on libtorch
    private final PtNDArray scales; // [out, in/32] bf16, or null on libtorch
    private final PtNDArray dequantized; // [out, in] bf16 on libtorch, else null

    private Int8G32Linear(TorchOps ops, NativeOps natives, PtNDArray codes, PtNDArray scales, PtNDArray dequantized,
            int out, int in) {
        super(ops, out, in);
        this.natives = natives;
        this.codes = codes;
        this.scales = scales;
        this.dequantized = dequantized;
    }

    /** On woq's kernels, which read the codes [out, in] int8 and scales [out, in/32] bf16 in place. */
    public static Int8G32Linear onWoqKernels(TorchOps ops, NativeOps natives, PtNDArray codes, PtNDArray scales, int out,
            int in) {
        requireWholeGroups(in);
        return new Int8G32Linear(ops, natives, codes, scales, null, out, in);
    }

    /** On libtorch's bf16 matmul, the weight dequantized now into a tensor of {@code manager}. */
    public static Int8G32Linear onLibtorch(TorchOps ops, PtNDManager manager, PtNDArray codes, PtNDArray scales, int out,
            int in) {
        requireWholeGroups(in);
        PtNDArray weight = ops.dequantizeInt8Groups(manager, codes, scales, WeightFormat.Int8G32.GROUP_SIZE);
        return new Int8G32Linear(ops, null, null, null, weight, out, in);
    }

    private static void requireWholeGroups(int in) {
        if (in % WeightFormat.Int8G32.GROUP_SIZE != 0) {
            throw new IllegalArgumentException("int8-g32 needs inputs in whole groups of "
                    + WeightFormat.Int8G32.GROUP_SIZE + ", got " + in);
        }
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        if (natives != null) {
            return natives.int8G32(scope, x, codes, scales);
        }
        return ops.linearBf16(scope, x, dequantized);
    }

    /** Whether woq's kernel computes this projection. */
    boolean isNative() {
        return natives != null;
    }

    /** What the format stores (codes and scales), whichever kernel runs it: the libtorch fallback reads twice that. */
    @Override
    public long weightBytes() {
        return WeightFormat.INT8_G32.storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT8_G32;
    }
}
