package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;

/**
 * A projection {@code y = x W^T} with weights W of shape [out, in]. Implementations differ in how
 * W is stored (bf16 here; int8 and int4 weight-only quantized formats build on the same contract)
 * and all compute with bf16 activations.
 */
public interface Linear {

    /** x: [tokens, in] bf16 → [tokens, out] bf16, attached to {@code scope}. */
    PtNDArray apply(PtNDManager scope, PtNDArray x);

    int inFeatures();

    int outFeatures();

    /** Bytes of weight data read per token: what decode speed is bound by. */
    long weightBytes();

    /** The weight format the projection is stored in, whichever kernel runs it. */
    WeightFormat format();
}
