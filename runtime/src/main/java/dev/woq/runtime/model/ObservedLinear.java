package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;

/** A projection that shows each input to a {@link ProjectionObserver} before computing. */
record ObservedLinear(Linear linear, String weightName, ProjectionObserver observer) implements Linear {
    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        observer.observe(weightName, x);
        return linear.apply(scope, x);
    }

    @Override
    public int inFeatures() {
        return linear.inFeatures();
    }

    @Override
    public int outFeatures() {
        return linear.outFeatures();
    }

    @Override
    public long weightBytes() {
        return linear.weightBytes();
    }

    @Override
    public WeightFormat format() {
        return linear.format();
    }
}
