package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.format.WeightFormat;

/**
 * An int4-q32 projection on woq's AVX-512 BF16 kernel ({@code woq::int4q32_mm}): int4's nibbles
 * in groups of 32, each group's scale and zero point an 8-bit code of the matrix's largest scale
 * ({@link WeightFormat.Int4Q32}). The kernel forms each group's fp32 scale and zero from the codes
 * as it reaches the row and then computes exactly as {@link Int4Avx512Linear} does with groups of
 * 32; like it, it reads the checkpoint's tensors as they are mapped, nothing repacked.
 */
public final class Int4Q32Avx512Linear extends Projection {
    private final NativeOps natives;
    private final PtNDArray nibbles; // [out, in/2] uint8, low nibble = even input
    private final PtNDArray scaleCodes; // [out, in/32] uint8
    private final PtNDArray zeroCodes; // [out, in/32] uint8
    private final PtNDArray scaleMax; // [1] fp32

    public Int4Q32Avx512Linear(TorchOps ops, NativeOps natives, PtNDArray nibbles, PtNDArray scaleCodes,
            PtNDArray zeroCodes, PtNDArray scaleMax, int out, int in) {
        super(ops, out, in);
        if (!fits(in)) {
            throw new IllegalArgumentException("int4-q32 AVX-512 kernel cannot take in=" + in + ": it needs a multiple of 128");
        }
        this.natives = natives;
        this.nibbles = nibbles;
        this.scaleCodes = scaleCodes;
        this.zeroCodes = zeroCodes;
        this.scaleMax = scaleMax;
    }

    /** Whether the kernel takes {@code in} inputs: it reads 128 codes per load, as int4's does. */
    public static boolean fits(int in) {
        return Int4Avx512Linear.fits(in, WeightFormat.Int4Q32.GROUP_SIZE);
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return natives.int4q32(scope, x, nibbles, scaleCodes, zeroCodes, scaleMax);
    }

    /** The codes, scale and zero codes and scaleMax as mapped. */
    @Override
    public long weightBytes() {
        return format().storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT4_Q32;
    }
}
