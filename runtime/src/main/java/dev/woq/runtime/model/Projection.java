package dev.woq.runtime.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/** What every {@link Linear} block shares: its shape and the DJL entry point. */
abstract class Projection extends KernelBlock implements Linear {
    protected final int in;
    protected final int out;

    Projection(Kernels kernels, int out, int in) {
        super(kernels);
        this.in = in;
        this.out = out;
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x);
    }

    /** [tokens, in] → [tokens, out]. */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), out)};
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }
}
