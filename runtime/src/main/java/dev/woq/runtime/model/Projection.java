package dev.woq.runtime.model;

import dev.woq.runtime.engine.TorchOps;

/** What every {@link Linear} shares: libtorch's operations and its shape. */
abstract class Projection implements Linear {
    protected final TorchOps ops;
    protected final int in;
    protected final int out;

    Projection(TorchOps ops, int out, int in) {
        this.ops = ops;
        this.in = in;
        this.out = out;
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
