package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;

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

    /** Caches of {@code capacity} positions for every layer of {@code config}, owned by a sub-manager of {@code parent}. */
    public KvCache(TorchOps ops, PtNDManager parent, LlamaConfig config, int capacity) {
        this.manager = (PtNDManager) parent.newSubManager();
        this.capacity = capacity;
        this.keys = new PtNDArray[config.numLayers()];
        this.values = new PtNDArray[config.numLayers()];
        long[] shape = {config.numKvHeads(), capacity, config.headDim()};
        for (int i = 0; i < config.numLayers(); i++) {
            keys[i] = ops.empty(manager, shape, TorchDtype.BFLOAT16);
            values[i] = ops.empty(manager, shape, TorchDtype.BFLOAT16);
        }
    }

    /** Positions it can hold. */
    public int capacity() {
        return capacity;
    }

    /** Layer {@code layer}'s keys, [kvHeads, capacity, headDim] bf16. */
    public PtNDArray keys(int layer) {
        return keys[layer];
    }

    /** A copy of the first {@code positions} positions of every layer, owned by a sub-manager of {@code parent}. */
    KvPrefix copyPrefix(TorchOps ops, PtNDManager parent, int positions) {
        PtNDManager owner = (PtNDManager) parent.newSubManager();
        try {
            PtNDArray[] k = new PtNDArray[keys.length];
            PtNDArray[] v = new PtNDArray[keys.length];
            for (int i = 0; i < keys.length; i++) {
                k[i] = ops.kvRows(owner, keys[i], positions);
                v[i] = ops.kvRows(owner, values[i], positions);
            }
            long perLayer = k[0].size() * 2L * 2L; // keys and values, bf16
            return new KvPrefix(owner, k, v, positions, perLayer * keys.length);
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    /** Writes the first {@code positions} of {@code prefix} over those of every layer. */
    void restore(TorchOps ops, KvPrefix prefix, int positions) {
        if (prefix.layers() != keys.length || positions > capacity || positions > prefix.positions()) {
            throw new IllegalArgumentException(positions + " positions of a prefix of " + prefix.positions() + " and "
                    + prefix.layers() + " layers do not fit a cache of " + capacity + " positions and " + keys.length
                    + " layers");
        }
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            for (int i = 0; i < keys.length; i++) {
                ops.putKvRows(scope, keys[i], prefix.keys(i), positions);
                ops.putKvRows(scope, values[i], prefix.values(i), positions);
            }
        }
    }

    /** Layer {@code layer}'s values, same shape. */
    public PtNDArray values(int layer) {
        return values[layer];
    }

    @Override
    public void close() {
        manager.close();
    }
}
