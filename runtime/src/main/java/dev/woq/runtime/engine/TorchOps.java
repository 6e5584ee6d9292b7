package dev.woq.runtime.engine;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.nio.file.Path;

/**
 * The operations the model runs on libtorch, one typed method each: the Java face of
 * {@code LlamaOps.ts}, so that a misspelt operation or a wrong argument is a compile error rather
 * than a failure at run time. Every result is attached to the manager passed first, and freed
 * when it closes. woq's own AVX-512/AMX matmuls are {@link NativeOps}.
 *
 * <p>Shapes in the comments: T tokens, H query heads, KV key/value heads, D head size.
 */
public final class TorchOps {
    private final Kernels k;

    TorchOps(Kernels kernels) {
        this.k = kernels;
    }

    // --- Weights and buffers -------------------------------------------------------------------

    /** The whole {@code file} mapped (read-only, copy-on-write) as a 1-D tensor of {@code numel} elements. */
    public PtNDArray mapFile(PtNDManager out, Path file, long numel, TorchDtype dtype) {
        return k.call(out, "map_file", file.toAbsolutePath().toString(), numel, dtype.code());
    }

    /** A view of {@code numel} elements of {@code flat} from element {@code offset}, reshaped. */
    public PtNDArray view(PtNDManager out, PtNDArray flat, long offset, long numel, long[] shape) {
        return k.call(out, "tensor_at", flat, offset, numel, shape);
    }

    /** {@code x} converted to {@code dtype}, contiguous. */
    public PtNDArray to(PtNDManager out, PtNDArray x, TorchDtype dtype) {
        return k.call(out, "to_dtype", x, dtype.code());
    }

    /** {@code x} as contiguous fp32, ready to be read into a Java array. */
    public PtNDArray toFloat(PtNDManager out, PtNDArray x) {
        return k.call(out, "to_float", x);
    }

    /** A copy of {@code x} that owns its memory. */
    public PtNDArray copy(PtNDManager out, PtNDArray x) {
        return k.call(out, "clone", x);
    }

    /** An uninitialised tensor: its pages become resident only when written. */
    public PtNDArray empty(PtNDManager out, long[] shape, TorchDtype dtype) {
        return k.call(out, "empty", shape, dtype.code());
    }

    /** The fp32 sum of {@code x}, reading it once (the bandwidth probe). */
    public PtNDArray sumFloat(PtNDManager out, PtNDArray x) {
        return k.call(out, "sum_f32", x);
    }

    // --- The forward pass ----------------------------------------------------------------------

    /** ids [T] int64 → [T, hidden] rows of {@code table}, a fresh tensor the layers update in place. */
    public PtNDArray embedding(PtNDManager out, PtNDArray table, PtNDArray ids) {
        return k.call(out, "embedding", table, ids);
    }

    /** RMSNorm as Hugging Face's LlamaRMSNorm: statistics in fp32, rounded to bf16, then scaled by {@code weight}. */
    public PtNDArray rmsNorm(PtNDManager out, PtNDArray x, PtNDArray weight, double eps) {
        return k.call(out, "rms_norm", x, weight, eps);
    }

    /** {@code x += y} in place (the residual stream). */
    public void addInPlace(PtNDManager out, PtNDArray x, PtNDArray y) {
        k.call(out, "add_", x, y);
    }

    /** SwiGLU's gate: {@code silu(gate) * up}, [T, intermediate]. */
    public PtNDArray siluMul(PtNDManager out, PtNDArray gate, PtNDArray up) {
        return k.call(out, "silu_mul", gate, up);
    }

    /**
     * Causal grouped-query attention of T new tokens at positions {@code position..}: RoPE on q and k,
     * their keys and values written into the caches, scaled dot-product attention over everything
     * cached. q [T, H*D], k and v [T, KV*D]; caches [KV, capacity, D] bf16 → [T, H*D].
     */
    public PtNDArray attention(PtNDManager out, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray keyCache, PtNDArray valueCache, int position, int heads, int kvHeads, int headDim) {
        return k.call(out, "attention", q, key, value, cos, sin, keyCache, valueCache, position, heads, kvHeads, headDim);
    }

    /** {@link #attention} for one new token of each of B sequences: row b at {@code positions[b]} of its own caches. */
    public PtNDArray attentionBatch(PtNDManager out, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray[] keyCaches, PtNDArray[] valueCaches, long[] positions, int heads, int kvHeads,
            int headDim) {
        return k.call(out, "attention_batch", q, key, value, cos, sin, keyCaches, valueCaches, positions, heads,
                kvHeads, headDim);
    }

    /** The last row of x [T, hidden] as [1, hidden]: the only position whose logits generation needs. */
    public PtNDArray lastRow(PtNDManager out, PtNDArray x) {
        return k.call(out, "last_row_logits", x);
    }

    /** The first {@code positions} rows of a KV cache [KV, capacity, D] as a compact copy [KV, positions, D]. */
    public PtNDArray kvRows(PtNDManager out, PtNDArray cache, int positions) {
        return k.call(out, "kv_rows", cache, positions);
    }

    /** Writes the first {@code positions} of {@code rows} [KV, m, D] over those of {@code cache} [KV, capacity, D]. */
    public void putKvRows(PtNDManager out, PtNDArray cache, PtNDArray rows, int positions) {
        k.call(out, "put_kv_rows", cache, rows, positions);
    }

    // --- libtorch's matmuls --------------------------------------------------------------------

    /** x [T, in] bf16 · w [out, in] bf16ᵀ on oneDNN. */
    public PtNDArray linearBf16(PtNDManager out, PtNDArray x, PtNDArray w) {
        return k.call(out, "linear_bf16", x, w);
    }

    /** x [T, in] bf16 · (codes [out, in] int8 × scales [out] bf16)ᵀ on libtorch's {@code _weight_int8pack_mm}. */
    public PtNDArray linearInt8(PtNDManager out, PtNDArray x, PtNDArray codes, PtNDArray scales) {
        return k.call(out, "linear_int8", x, codes, scales);
    }

    /**
     * codes [out, in] int8 with scales [out, in/group] bf16 as a bf16 weight [out, in]: each
     * weight {@code q * scale} rounded once to bf16, for {@link #linearBf16}.
     */
    public PtNDArray dequantizeInt8Groups(PtNDManager out, PtNDArray codes, PtNDArray scales, int group) {
        return k.call(out, "dequantize_int8_groups", codes, scales, (long) group);
    }

    /** x [T, in] bf16 on libtorch's {@code _weight_int4pack_mm_for_cpu}: codes in its CPU layout, scales and zeros [in/g, out, 2]. */
    public PtNDArray linearInt4(PtNDManager out, PtNDArray x, PtNDArray packed, int groupSize, PtNDArray scalesAndZeros) {
        return k.call(out, "linear_int4", x, packed, groupSize, scalesAndZeros);
    }

    /** libtorch's own CPU packing of int4 codes [N, K] int32 (0..15): the reference woq's Java packing must match. */
    public PtNDArray int4PackReference(PtNDManager out, PtNDArray codes) {
        return k.call(out, "int4_pack_reference", codes);
    }

    /**
     * The portable nibbles [n, K/2] at byte {@code offset} of {@code file} repacked by libtorch into
     * its CPU layout, {@code chunk} rows at a time; the file is mapped for this call only.
     */
    public PtNDArray int4RepackFromFile(PtNDManager out, Path file, long fileBytes, long offset, int n, int halfK, int chunk) {
        return k.call(out, "int4_repack", file.toString(), fileBytes, offset, n, halfK, chunk);
    }

    /** Scales and zeros [n, groups] bf16 read from their files into the [groups, n, 2] layout libtorch's int4 kernel takes. */
    public PtNDArray int4ScalesAndZerosFromFiles(PtNDManager out, Path scalesFile, long scalesFileElems, long scalesAt,
            Path zerosFile, long zerosFileElems, long zerosAt, int n, int groups) {
        return k.call(out, "int4_scales_zeros", scalesFile.toString(), scalesFileElems, scalesAt, zerosFile.toString(),
                zerosFileElems, zerosAt, n, groups);
    }
}
