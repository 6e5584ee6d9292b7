package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;

/**
 * One pre-norm transformer layer of Llama, read top to bottom:
 * <pre>
 *   h = rms_norm(x);  x += o(attention(rope(q(h)), rope(k(h)), v(h), cache))
 *   h = rms_norm(x);  x += down(silu(gate(h)) * up(h))
 * </pre>
 * The seven projections are {@link Linear}s in whatever format the checkpoint stores; the norms
 * are bf16 vectors mapped from it. Rotation, the cache update and attention are one call, and so
 * is each of the other steps between the projections ({@link LayerOps}).
 */
final class DecoderLayer {
    private final LayerOps ops;
    private final LlamaConfig config;
    private final int index;
    private final PtNDArray inputNorm; // [hidden] bf16
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear o;
    private final PtNDArray postAttentionNorm; // [hidden] bf16
    private final Linear gate;
    private final Linear up;
    private final Linear down;
    private final RotaryEmbedding rope;

    /** The weights of layer {@code index}, in the order Hugging Face names them. */
    record Weights(PtNDArray inputNorm, Linear q, Linear k, Linear v, Linear o, PtNDArray postAttentionNorm,
            Linear gate, Linear up, Linear down) {}

    DecoderLayer(LayerOps ops, LlamaConfig config, int index, Weights w, RotaryEmbedding rope) {
        this.ops = ops;
        this.config = config;
        this.index = index;
        this.inputNorm = w.inputNorm();
        this.q = w.q();
        this.k = w.k();
        this.v = w.v();
        this.o = w.o();
        this.postAttentionNorm = w.postAttentionNorm();
        this.gate = w.gate();
        this.up = w.up();
        this.down = w.down();
        this.rope = rope;
    }

    /**
     * Runs tokens at positions {@code position..} through the layer: x [T, hidden] bf16 is updated
     * in place, their keys and values are written to {@code cache}. Temporaries live in a
     * sub-manager closed before returning, so the peak is one layer's activations whatever the depth.
     */
    void forward(PtNDManager scope, PtNDArray x, KvCache cache, int position) {
        try (PtNDManager tmp = (PtNDManager) scope.newSubManager()) {
            PtNDArray h = ops.rmsNorm(tmp, x, inputNorm, config.rmsNormEps());
            PtNDArray attended = ops.attention(tmp, q.apply(tmp, h), k.apply(tmp, h), v.apply(tmp, h),
                    rope.cos(), rope.sin(), cache.keys(index), cache.values(index), position,
                    config.numHeads(), config.numKvHeads(), config.headDim()); // [T, H*D]
            ops.addInPlace(tmp, x, o.apply(tmp, attended));
            mlp(tmp, x);
        }
    }

    /**
     * One new token for each of B sequences: row b of x [B, hidden] is at {@code positions[b]} of
     * {@code caches[b]}. The projections run once on the whole batch, attention per sequence.
     */
    void forwardBatch(PtNDManager scope, PtNDArray x, KvCache[] caches, long[] positions) {
        try (PtNDManager tmp = (PtNDManager) scope.newSubManager()) {
            PtNDArray[] keys = new PtNDArray[caches.length];
            PtNDArray[] values = new PtNDArray[caches.length];
            for (int b = 0; b < caches.length; b++) {
                keys[b] = caches[b].keys(index);
                values[b] = caches[b].values(index);
            }
            PtNDArray h = ops.rmsNorm(tmp, x, inputNorm, config.rmsNormEps());
            PtNDArray attended = ops.attentionBatch(tmp, q.apply(tmp, h), k.apply(tmp, h), v.apply(tmp, h),
                    rope.cos(), rope.sin(), keys, values, positions,
                    config.numHeads(), config.numKvHeads(), config.headDim()); // [B, H*D]
            ops.addInPlace(tmp, x, o.apply(tmp, attended));
            mlp(tmp, x);
        }
    }

    /** {@code x += down(silu(gate(h)) * up(h))} with {@code h = rms_norm(x)}; the [T, intermediate] temporaries die with tmp. */
    private void mlp(PtNDManager tmp, PtNDArray x) {
        PtNDArray h = ops.rmsNorm(tmp, x, postAttentionNorm, config.rmsNormEps());
        PtNDArray mixed = ops.siluMul(tmp, gate.apply(tmp, h), up.apply(tmp, h));
        ops.addInPlace(tmp, x, down.apply(tmp, mixed));
    }

    /** The projections' weight format (the q projection's: a layer is quantized as a whole). */
    WeightFormat projectionFormat() {
        return q.format();
    }

    /** Bytes of projection weights one token reads. */
    long weightBytes() {
        return q.weightBytes() + k.weightBytes() + v.weightBytes() + o.weightBytes()
                + gate.weightBytes() + up.weightBytes() + down.weightBytes();
    }
}
