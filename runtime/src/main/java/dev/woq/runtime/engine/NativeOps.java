package dev.woq.runtime.engine;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.safetensors.TensorInfo;

/**
 * woq's own kernels ({@code libwoq_kernels.so}, registered with libtorch as {@code woq::}
 * operators), one typed method each: the Java face of {@code NativeOps.ts}. Present only where
 * {@link NativeKernels} loaded them. Every matmul computes {@code x · Wᵀ} with bf16 activations
 * and fp32 sums, x [T, in] bf16 → [T, out] bf16; the layer steps at the end compute what
 * {@link TorchOps}' methods of the same names do, in one call each.
 */
public final class NativeOps {
    private final Kernels k;

    NativeOps(Kernels kernels) {
        this.k = kernels;
    }

    /** int4 on the registry's layout as mapped: nibbles [out, in/2] uint8 (low = even input), scales and zeros [out, in/g] bf16. */
    public PtNDArray int4(PtNDManager out, PtNDArray x, PtNDArray nibbles, PtNDArray scales, PtNDArray zeros) {
        return k.call(out, "int4_mm", x, nibbles, scales, zeros);
    }

    /**
     * int4-q32 on its layout as mapped: nibbles as {@link #int4}'s, scale and zero codes [out, in/32]
     * uint8 and the matrix's largest scale, scaleMax [1] fp32 (a group's scale is
     * {@code scaleMax * 2^(-c/16)}, its zero point {@code zc/16}).
     */
    public PtNDArray int4q32(PtNDManager out, PtNDArray x, PtNDArray nibbles, PtNDArray scaleCodes, PtNDArray zeroCodes,
            PtNDArray scaleMax) {
        return k.call(out, "int4q32_mm", x, nibbles, scaleCodes, zeroCodes, scaleMax);
    }

    /** int8 codes [out, in], one bf16 scale per output row. */
    public PtNDArray int8(PtNDManager out, PtNDArray x, PtNDArray codes, PtNDArray scales) {
        return k.call(out, "int8_mm", x, codes, scales);
    }

    /** int8 codes [out, in] with a bf16 scale per group of 32 inputs, scales [out, in/32] (int8-g32). */
    public PtNDArray int8G32(PtNDManager out, PtNDArray x, PtNDArray codes, PtNDArray scales) {
        return k.call(out, "int8g32_mm", x, codes, scales);
    }

    /** bf16 weight [out, in] straight from the mapping. */
    public PtNDArray bf16(PtNDManager out, PtNDArray x, PtNDArray w) {
        return k.call(out, "bf16_mm", x, w);
    }

    /**
     * An int4 matrix's nibbles, scales and zeros, read from their files, packed into AMX tiles
     * (the files are mapped for this call only).
     */
    public PtNDArray amxPack(PtNDManager out, TensorInfo nibbles, TensorInfo scales, TensorInfo zeros, int rows,
            int in, int groupSize) {
        return k.call(out, "amx_pack",
                nibbles.file().toString(), nibbles.file().toFile().length(), nibbles.fileOffset(), (long) rows, (long) in / 2,
                scales.file().toString(), scales.file().toFile().length() / 2, scales.fileOffset() / 2,
                zeros.file().toString(), zeros.file().toFile().length() / 2, zeros.fileOffset() / 2,
                (long) (in / groupSize));
    }

    /** int4 on AMX tiles made by {@link #amxPack}. */
    public PtNDArray amx(PtNDManager out, PtNDArray x, PtNDArray packed, int rows, int groupSize) {
        return k.call(out, "amx_mm", x, packed, (long) rows, (long) groupSize);
    }

    /** As {@link TorchOps#rmsNorm}: x [T, n] bf16, n a multiple of 16. */
    public PtNDArray rmsNorm(PtNDManager out, PtNDArray x, PtNDArray weight, double eps) {
        return k.call(out, "rms_norm", x, weight, eps);
    }

    /** As {@link TorchOps#siluMul}: [T, n] bf16, n a multiple of 16. */
    public PtNDArray siluMul(PtNDManager out, PtNDArray gate, PtNDArray up) {
        return k.call(out, "silu_mul", gate, up);
    }

    /**
     * As {@link TorchOps#attention} for one token (q [1, H*D], key and value [1, KV*D]), head size D
     * (the caches' last dimension) a multiple of 32.
     */
    public PtNDArray attentionDecode(PtNDManager out, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray keyCache, PtNDArray valueCache, int position, int heads, int kvHeads) {
        return k.call(out, "attention_decode", q, key, value, cos, sin, keyCache, valueCache, position, heads, kvHeads);
    }

    /**
     * As {@link TorchOps#attention} for a chunk of T tokens (q [T, H*D], key and value [T, KV*D]):
     * causal attention in blocks of keys, never a [T, position + T] matrix; head size D a multiple
     * of 32, at most 64 query heads to a KV head.
     */
    public PtNDArray attentionPrefill(PtNDManager out, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray keyCache, PtNDArray valueCache, int position, int heads, int kvHeads) {
        return k.call(out, "attention_prefill", q, key, value, cos, sin, keyCache, valueCache, position, heads, kvHeads);
    }

    /** {@link #attentionDecode} for one new token of each of B sequences: row b at {@code positions[b]} of its own caches. */
    public PtNDArray attentionDecodeBatch(PtNDManager out, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray[] keyCaches, PtNDArray[] valueCaches, long[] positions, int heads, int kvHeads) {
        return k.call(out, "attention_decode_batch", q, key, value, cos, sin, keyCaches, valueCaches, positions, heads,
                kvHeads);
    }
}
