package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.safetensors.TensorInfo;

/**
 * A weight-only int4 projection on woq's own AMX kernel ({@code engine.NativeKernels}): the same
 * recipe and numbers as {@link Int4Linear} ({@code w = (q - 8) * scale + zero} per group, bf16
 * activations, fp32 sums), faster at one token and much faster for several. The
 * portable nibbles, scales and zeros are rearranged into the kernel's tiles at load, in native
 * code, from files mapped only for that call.
 */
public final class Int4AmxLinear extends Projection {
    private final NativeOps amx;
    private final PtNDArray packed; // codes, then fp32 scales and offsets (woq_int4_amx.cpp)
    private final int groupSize;

    public Int4AmxLinear(
            TorchOps ops, NativeOps amx, PtNDManager manager, TensorInfo nibbles, TensorInfo scales, TensorInfo zeros,
            int groupSize, int out, int in) {
        super(ops, out, in);
        if (!fits(out, groupSize)) {
            throw new IllegalArgumentException("int4 AMX kernel cannot take out=" + out + ", group " + groupSize);
        }
        Int4Linear.requireEvenOffsets(scales, zeros);
        this.amx = amx;
        this.groupSize = groupSize;
        this.packed = amx.amxPack(manager, nibbles, scales, zeros, out, in, groupSize);
    }

    /** Whether the kernel takes a matrix of {@code out} rows in groups of {@code groupSize} (the input width is a multiple of the group). */
    public static boolean fits(int out, int groupSize) {
        return out % 16 == 0 && groupSize >= 32 && groupSize <= 128 && groupSize % 32 == 0;
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return amx.amx(scope, x, packed, out, groupSize);
    }

    /** Codes plus one scale and offset per group, as the kernel reads them (fp32). */
    @Override
    public long weightBytes() {
        return (long) out * in / 2 + 4L * 2 * out * (in / groupSize);
    }

    @Override
    public WeightFormat format() {
        return new WeightFormat.Int4(groupSize);
    }
}
