package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;

/**
 * A weight-only int4 projection on woq's AVX-512 BF16 kernel ({@code woq_avx512.cpp}): the same
 * recipe and numbers as {@link Int4Linear} ({@code w = (q - 8) * scale + zero} per group, bf16
 * activations, fp32 sums), computed on the registry's portable nibbles, scales and zeros exactly
 * as they are mapped from the checkpoint. Nothing is repacked, so loading costs no time and no
 * memory, and the pages are the OS cache's own.
 */
public final class Int4Avx512Linear extends Projection {
    private final NativeOps natives;
    private final PtNDArray nibbles; // [out, in/2] uint8, low nibble = even input
    private final PtNDArray scales; // [out, in/groupSize] bf16
    private final PtNDArray zeros; // same shape
    private final int groupSize;

    public Int4Avx512Linear(
            TorchOps ops, NativeOps natives, PtNDArray nibbles, PtNDArray scales, PtNDArray zeros,
            int groupSize, int out, int in) {
        super(ops, out, in);
        if (!fits(in, groupSize)) {
            throw new IllegalArgumentException("int4 AVX-512 kernel cannot take in=" + in + ", group " + groupSize);
        }
        this.natives = natives;
        this.nibbles = nibbles;
        this.scales = scales;
        this.zeros = zeros;
        this.groupSize = groupSize;
    }

    /** Whether the kernel takes {@code in} inputs in groups of {@code groupSize}: it reads 128 codes per load. */
    public static boolean fits(int in, int groupSize) {
        return in % 128 == 0 && (groupSize == 32 || groupSize == 64 || groupSize == 128);
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return natives.int4(scope, x, nibbles, scales, zeros);
    }

    /** The codes, scales and zeros as mapped. */
    @Override
    public long weightBytes() {
        return format().storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return new WeightFormat.Int4(groupSize);
    }
}
