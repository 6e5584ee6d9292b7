package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/** One pre-norm transformer layer: {@code x += attn(norm(x)); x += mlp(norm(x))}. */
public final class DecoderLayer extends KernelBlock {
    private final RmsNorm inputNorm;
    private final Attention attention;
    private final RmsNorm postAttentionNorm;
    private final Mlp mlp;

    public DecoderLayer(Kernels kernels, RmsNorm inputNorm, Attention attention, RmsNorm postAttentionNorm, Mlp mlp) {
        super(kernels);
        this.inputNorm = addChildBlock("input_layernorm", inputNorm);
        this.attention = addChildBlock("self_attn", attention);
        this.postAttentionNorm = addChildBlock("post_attention_layernorm", postAttentionNorm);
        this.mlp = addChildBlock("mlp", mlp);
    }

    /**
     * Updates the residual stream x ([tokens, hidden] bf16) in place and returns it. The layer's
     * temporaries live in a sub-manager closed before returning, so a layer's peak memory is one
     * layer's activations, whatever the depth.
     */
    public PtNDArray apply(PtNDManager scope, PtNDArray x, KvCache cache, int position) {
        try (PtNDManager tmp = (PtNDManager) scope.newSubManager()) {
            PtNDArray attended = attention.apply(tmp, inputNorm.apply(tmp, x), cache, position);
            kernels.call(tmp, "add_", x, attended);
            PtNDArray mixed = mlp.apply(tmp, postAttentionNorm.apply(tmp, x));
            kernels.call(tmp, "add_", x, mixed);
        }
        return x;
    }

    /** As {@link #apply}, for one new token of each of B sequences (see {@link Attention#applyBatch}). */
    public PtNDArray applyBatch(PtNDManager scope, PtNDArray x, KvCache[] caches, long[] positions) {
        try (PtNDManager tmp = (PtNDManager) scope.newSubManager()) {
            PtNDArray attended = attention.applyBatch(tmp, inputNorm.apply(tmp, x), caches, positions);
            kernels.call(tmp, "add_", x, attended);
            PtNDArray mixed = mlp.apply(tmp, postAttentionNorm.apply(tmp, x));
            kernels.call(tmp, "add_", x, mixed);
        }
        return x;
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x, (KvCache) params.get("cache"), (Integer) params.get("position"));
    }

    String projectionFormat() {
        return attention.projectionFormat();
    }

    long weightBytes() {
        return attention.weightBytes() + mlp.weightBytes();
    }
}
