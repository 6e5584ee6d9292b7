package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import java.util.Optional;

/**
 * What a layer computes between its projections: the RMS norms, attention, SwiGLU's gate and the
 * residual add. On woq's native operators where they loaded ({@code woq_layer_ops.cpp}), each is
 * one call where libtorch's TorchScript runs several small operators (a decode step's attention
 * alone is about thirty), which on two cores cost about a fifth of an 8B decode step while the
 * other core waited. Attention has two native kernels: one new token at a time (decode, and each
 * sequence of a batched step), and a prompt chunk's, blocked over the keys as flash attention is
 * (libtorch's TorchScript ran that as two fp32 flash calls, with the cache converted to fp32 and
 * the chunk's keys repeated per head, and a merge). Both round where Hugging Face's Llama rounds,
 * so they agree with libtorch's to bf16 rounding.
 */
final class LayerOps {
    private final TorchOps ops;
    private final NativeOps natives; // null: libtorch's only

    LayerOps(TorchOps ops, Optional<NativeOps> natives) {
        this.ops = ops;
        this.natives = natives.orElse(null);
    }

    /** rms_norm(x) * weight for x [T, n] bf16. */
    PtNDArray rmsNorm(PtNDManager scope, PtNDArray x, PtNDArray weight, double eps) {
        if (natives != null && inMultiplesOf16(x)) {
            return natives.rmsNorm(scope, x, weight, eps);
        }
        return ops.rmsNorm(scope, x, weight, eps);
    }

    /** silu(gate) * up, [T, intermediate]. */
    PtNDArray siluMul(PtNDManager scope, PtNDArray gate, PtNDArray up) {
        if (natives != null && inMultiplesOf16(gate)) {
            return natives.siluMul(scope, gate, up);
        }
        return ops.siluMul(scope, gate, up);
    }

    /** {@code x += y} in place (the residual stream): one libtorch operator either way. */
    void addInPlace(PtNDManager scope, PtNDArray x, PtNDArray y) {
        ops.addInPlace(scope, x, y);
    }

    /** As {@link TorchOps#attention}: T tokens at positions {@code position..}. */
    PtNDArray attention(PtNDManager scope, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos, PtNDArray sin,
            PtNDArray keyCache, PtNDArray valueCache, int position, int heads, int kvHeads, int headDim) {
        if (natives != null && nativeAttentionFits(headDim)) {
            if (q.getShape().get(0) == 1) {
                return natives.attentionDecode(scope, q, key, value, cos, sin, keyCache, valueCache, position, heads,
                        kvHeads);
            }
            if (heads / kvHeads <= NATIVE_PREFILL_MAX_GROUP) {
                return natives.attentionPrefill(scope, q, key, value, cos, sin, keyCache, valueCache, position, heads,
                        kvHeads);
            }
        }
        return ops.attention(scope, q, key, value, cos, sin, keyCache, valueCache, position, heads, kvHeads, headDim);
    }

    /** As {@link TorchOps#attentionBatch}: one new token of each of B sequences. */
    PtNDArray attentionBatch(PtNDManager scope, PtNDArray q, PtNDArray key, PtNDArray value, PtNDArray cos,
            PtNDArray sin, PtNDArray[] keyCaches, PtNDArray[] valueCaches, long[] positions, int heads, int kvHeads,
            int headDim) {
        if (natives != null && nativeAttentionFits(headDim)) {
            return natives.attentionDecodeBatch(scope, q, key, value, cos, sin, keyCaches, valueCaches, positions, heads,
                    kvHeads);
        }
        return ops.attentionBatch(scope, q, key, value, cos, sin, keyCaches, valueCaches, positions, heads, kvHeads,
                headDim);
    }

    /** A prompt chunk's native attention takes up to 64 query rows of one KV head at a time (Llama's groups are 1 to 8). */
    static final int NATIVE_PREFILL_MAX_GROUP = 64;

    /** The native attention reads a head in vectors of 32 values (Llama's heads are 64 or 128). */
    static boolean nativeAttentionFits(int headDim) {
        return headDim % 32 == 0;
    }

    private static boolean inMultiplesOf16(PtNDArray x) {
        return x.getShape().get(x.getShape().dimension() - 1) % 16 == 0;
    }
}
