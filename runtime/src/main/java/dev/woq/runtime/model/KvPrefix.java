package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;

/**
 * The keys and values of a sequence's first {@link #positions()} positions, copied out of its
 * KV cache so that another sequence starting with the same tokens can take them instead of
 * computing them ({@link InferenceSession#restore}). A key or value at position i depends only on
 * tokens 0..i, so the first n rows serve any sequence that shares those n tokens. Owns native
 * memory until closed.
 */
public final class KvPrefix implements AutoCloseable {
    private final PtNDManager manager;
    private final PtNDArray[] keys; // per layer [kvHeads, positions, headDim] bf16
    private final PtNDArray[] values;
    private final int positions;
    private final long bytes;

    KvPrefix(PtNDManager manager, PtNDArray[] keys, PtNDArray[] values, int positions, long bytes) {
        this.manager = manager;
        this.keys = keys;
        this.values = values;
        this.positions = positions;
        this.bytes = bytes;
    }

    /** Positions held. */
    public int positions() {
        return positions;
    }

    /** Native bytes held: keys and values of every layer. */
    public long bytes() {
        return bytes;
    }

    PtNDArray keys(int layer) {
        return keys[layer];
    }

    PtNDArray values(int layer) {
        return values[layer];
    }

    int layers() {
        return keys.length;
    }

    @Override
    public void close() {
        manager.close();
    }
}
