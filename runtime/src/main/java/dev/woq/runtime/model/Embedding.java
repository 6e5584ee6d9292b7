package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/** Token embedding: a row lookup in the bf16 [vocab, hidden] table. */
public final class Embedding extends KernelBlock {
    private final PtNDArray table;

    public Embedding(Kernels kernels, PtNDArray table) {
        super(kernels);
        this.table = table;
    }

    /** ids: [tokens] int64 → [tokens, hidden] bf16, a fresh tensor the layers may update in place. */
    public PtNDArray apply(PtNDManager scope, PtNDArray ids) {
        return kernels.call(scope, "embedding", table, ids);
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray ids, PairList<String, Object> params) {
        return apply(scope, ids);
    }

    PtNDArray table() {
        return table;
    }
}
