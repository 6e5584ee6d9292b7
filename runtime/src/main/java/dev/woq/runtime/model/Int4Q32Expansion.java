package dev.woq.runtime.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.quant.WeightCodec;

/**
 * int4-q32's scale and zero codes expanded into the bf16 scales and zeros of int4 in groups of 32,
 * in the [in/32, out, 2] layout libtorch's int4 kernel takes: how int4-q32 runs where woq's own
 * kernels do not (libtorch's kernels, {@code NativeKernels.none()}, {@code WOQ_KERNELS=libtorch}).
 *
 * <p>This fallback is approximate: each group's fp32 scale {@code scaleMax * 2^(-c/16)} and zero
 * {@code (8 - zc/16) * scale} are rounded to bf16 (a relative error up to 2^-8 each), where woq's
 * kernel keeps them in fp32. A weight moves by up to 1/16 of its group's scale; over a
 * projection's many inputs these moves are independent, and the output's error stays near that
 * of rounding it to bf16 (Int4Q32LoaderTest measures 0.2 % rms against the format's definition).
 */
final class Int4Q32Expansion {
    private Int4Q32Expansion() {}

    /**
     * @param scaleCodes [out, groups] row-major, as stored
     * @param zeroCodes the same shape
     * @return [groups, out, 2] bf16: (scale, zero) of group g of output row n at [g][n]
     */
    static PtNDArray scalesAndZeros(TorchOps ops, PtNDManager manager, byte[] scaleCodes, byte[] zeroCodes,
            float scaleMax, int out, int groups) {
        float[] sz = new float[2 * groups * out];
        for (int n = 0; n < out; n++) {
            for (int g = 0; g < groups; g++) {
                int c = scaleCodes[n * groups + g] & 0xFF;
                int zc = zeroCodes[n * groups + g] & 0xFF;
                float scale = WeightFormat.Int4Q32.scale(scaleMax, c);
                float zero = (8 - WeightFormat.Int4Q32.zeroPoint(zc)) * scale;
                int at = 2 * (g * out + n);
                sz[at] = WeightCodec.roundToBf16(scale);
                sz[at + 1] = WeightCodec.roundToBf16(zero);
            }
        }
        // Exactly representable in bf16 by now, so the conversion below changes nothing.
        try (PtNDArray f32 = (PtNDArray) manager.create(sz, new Shape(groups, out, 2))) {
            return ops.to(manager, f32, TorchDtype.BFLOAT16);
        }
    }
}
