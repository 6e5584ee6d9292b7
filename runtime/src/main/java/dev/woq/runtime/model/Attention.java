package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/**
 * Grouped-query self-attention with RoPE and a KV cache. The projections are {@link Linear}s;
 * rotation, the cache update and scaled-dot-product attention are one kernel call.
 */
public final class Attention extends KernelBlock {
    private final LlamaConfig config;
    private final int layer;
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear o;
    private final RotaryEmbedding rope;

    public Attention(
            Kernels kernels, LlamaConfig config, int layer, Linear q, Linear k, Linear v, Linear o, RotaryEmbedding rope) {
        super(kernels);
        this.config = config;
        this.layer = layer;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.rope = rope;
        addChildBlock("q_proj", (KernelBlock) q);
        addChildBlock("k_proj", (KernelBlock) k);
        addChildBlock("v_proj", (KernelBlock) v);
        addChildBlock("o_proj", (KernelBlock) o);
    }

    /**
     * x: [tokens, hidden] bf16 for positions {@code position .. position+tokens-1}; their keys and
     * values are written to the cache, and each token attends to every earlier position.
     */
    public PtNDArray apply(PtNDManager scope, PtNDArray x, KvCache cache, int position) {
        PtNDArray attended = kernels.call(
                scope, "attention",
                q.apply(scope, x), k.apply(scope, x), v.apply(scope, x),
                rope.cos(), rope.sin(), cache.keys(layer), cache.values(layer),
                position, config.numHeads(), config.numKvHeads(), config.headDim());
        return o.apply(scope, attended);
    }

    /**
     * x: [B, hidden] bf16, one new token for each of B sequences: row b is at
     * {@code positions[b]} of {@code caches[b]}. The four projections run once for the batch.
     */
    public PtNDArray applyBatch(PtNDManager scope, PtNDArray x, KvCache[] caches, long[] positions) {
        PtNDArray[] keys = new PtNDArray[caches.length];
        PtNDArray[] values = new PtNDArray[caches.length];
        for (int b = 0; b < caches.length; b++) {
            keys[b] = caches[b].keys(layer);
            values[b] = caches[b].values(layer);
        }
        PtNDArray attended = kernels.call(
                scope, "attention_batch",
                q.apply(scope, x), k.apply(scope, x), v.apply(scope, x),
                rope.cos(), rope.sin(), keys, values, positions,
                config.numHeads(), config.numKvHeads(), config.headDim());
        return o.apply(scope, attended);
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x, (KvCache) params.get("cache"), (Integer) params.get("position"));
    }

    String projectionFormat() {
        return q.format();
    }

    long weightBytes() {
        return q.weightBytes() + k.weightBytes() + v.weightBytes() + o.weightBytes();
    }
}
