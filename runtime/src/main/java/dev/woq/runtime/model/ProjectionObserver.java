package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;

/**
 * Sees the input of every projection a model runs, by the projection's weight name ({@code
 * model.layers.3.mlp.down_proj.weight}): how calibration measures activations ({@link ActivationProbe}).
 */
@FunctionalInterface
public interface ProjectionObserver {
    /** {@code input}: [tokens, in] bf16, as the projection receives it; read it, do not keep or change it. */
    void observe(String weightName, PtNDArray input);
}
