package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.Kernels;

/**
 * Keys and values of every layer for one sequence: per layer two bf16 tensors
 * [kvHeads, capacity, headDim], allocated once and left uninitialised (attention reads only the
 * rows it has written, and untouched pages cost no memory); attention writes new rows in place.
 */
public final class KvCache implements AutoCloseable {
    private final PtNDManager manager;
    private final PtNDArray[] keys;
    private final PtNDArray[] values;
    private final int capacity;

    KvCache(Kernels kernels, PtNDManager parent, LlamaConfig config, int capacity) {
        this.manager = (PtNDManager) parent.newSubManager();
        this.capacity = capacity;
        this.keys = new PtNDArray[config.numLayers()];
        this.values = new PtNDArray[config.numLayers()];
        long[] shape = {config.numKvHeads(), capacity, config.headDim()};
        for (int i = 0; i < config.numLayers(); i++) {
            keys[i] = kernels.call(manager, "empty", shape, 15L);
            values[i] = kernels.call(manager, "empty", shape, 15L);
        }
    }

    /** Positions it can hold. */
    public int capacity() {
        return capacity;
    }

    PtNDArray keys(int layer) {
        return keys[layer];
    }

    PtNDArray values(int layer) {
        return values[layer];
    }

    @Override
    public void close() {
        manager.close();
    }
}
