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

    /**
     * Whether woq's native prompt tile (bf16's and int8's, woq_avx512.cpp) takes a projection of
     * this shape: it transposes weights in tiles of 32 rows by inputs in 32s, and has no row tail.
     */
    static boolean promptKernelFits(int out, int in) {
        return out % 32 == 0 && in % 32 == 0;
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
