package dev.woq.runtime.model;

import dev.woq.runtime.WoqException;
import java.util.Arrays;

/**
 * One sequence being generated: its KV cache and how many positions it holds. Prefill the prompt
 * once, then decode token by token; each call returns the fp32 logits of the last position.
 * Not thread-safe: one session per conversation.
 */
public final class InferenceSession implements AutoCloseable {
    private final LlamaModel model;
    private final KvCache cache;
    private int position;

    InferenceSession(LlamaModel model, KvCache cache) {
        this.model = model;
        this.cache = cache;
    }

    /**
     * Appends the tokens (a whole prompt, or the next turn) and returns the last one's logits. A
     * prompt longer than the model's {@link LlamaModel#prefillChunk()} runs in chunks of that
     * many tokens, so memory stays bounded whatever its length.
     */
    public float[] prefill(int[] ids) {
        return prefill(ids, model.prefillChunk());
    }

    /**
     * As {@link #prefill(int[])}, {@code chunkTokens} tokens per forward pass. Each chunk's
     * queries attend to everything cached before it and causally to their own chunk, so the
     * logits are those of one pass over the whole prompt up to rounding.
     */
    public float[] prefill(int[] ids, int chunkTokens) {
        if (ids.length == 0) {
            throw new WoqException("Nothing to prefill: the prompt has no tokens");
        }
        if (chunkTokens < 1) {
            throw new IllegalArgumentException("chunkTokens must be >= 1, got " + chunkTokens);
        }
        ensureRoom(ids.length);
        float[] logits = null;
        for (int from = 0; from < ids.length; from += chunkTokens) {
            int to = Math.min(ids.length, from + chunkTokens);
            int[] chunk = from == 0 && to == ids.length ? ids : Arrays.copyOfRange(ids, from, to);
            logits = model.step(chunk, cache, position);
            position += chunk.length;
        }
        return logits;
    }

    /**
     * A copy of the keys and values of the first {@code positions} positions, for another
     * session that starts with the same tokens ({@link #restore}). It outlives this session.
     */
    public KvPrefix snapshot(int positions) {
        if (positions < 1 || positions > position) {
            throw new IllegalArgumentException("Cannot copy " + positions + " of the " + position + " cached positions");
        }
        return model.copyPrefix(cache, positions);
    }

    /**
     * Starts this session from {@code prefix}: its keys and values are written into the cache and
     * the sequence holds its positions, so the next {@link #prefill} computes only what follows.
     * Only the first {@code positions} of the prefix are kept (a shorter shared prefix).
     */
    public void restore(KvPrefix prefix, int positions) {
        if (positions < 1 || positions > prefix.positions()) {
            throw new IllegalArgumentException("Cannot keep " + positions + " of a prefix of " + prefix.positions());
        }
        if (positions > cache.capacity()) {
            throw new WoqException("A prefix of " + positions + " tokens does not fit this session's KV cache of "
                    + cache.capacity());
        }
        model.restorePrefix(cache, prefix, positions);
        position = positions;
    }

    /**
     * Appends the tokens and returns the logits at every one of their positions: row {@code i}
     * predicts the token after {@code ids[i]}. For scoring text (perplexity, KL divergence), not
     * generation; memory grows with {@code ids.length} x vocabulary floats.
     */
    public float[][] prefillAll(int[] ids) {
        if (ids.length == 0) {
            throw new WoqException("Nothing to prefill: no tokens");
        }
        ensureRoom(ids.length);
        float[][] logits = model.stepAll(ids, cache, position);
        position += ids.length;
        return logits;
    }

    /** Appends one token and returns the logits of the next. */
    public float[] decode(int id) {
        return prefill(new int[] {id});
    }

    /** The KV cache, for a batched step ({@link LlamaModel#decode(java.util.List, int[])}). */
    KvCache cache() {
        return cache;
    }

    LlamaModel model() {
        return model;
    }

    /** Records that a batched step wrote one more position. */
    void advance() {
        position++;
    }

    void ensureRoom(int tokens) {
        if (position + tokens > cache.capacity()) {
            throw new WoqException(
                    "The sequence would hold " + (position + tokens) + " tokens but its KV cache holds "
                            + cache.capacity() + " (context length " + model.config().maxPositionEmbeddings() + ")");
        }
    }

    /** Positions filled so far. */
    public int position() {
        return position;
    }

    public int capacity() {
        return cache.capacity();
    }

    /** Forgets the sequence; the cache is reused. */
    public void reset() {
        position = 0;
    }

    /**
     * Keeps the first {@code keep} positions and forgets the rest, so a sequence that shares a
     * prefix with the cached one (the next chat turn, a regenerated reply) only computes what
     * differs. The rows after {@code keep} are overwritten by the next prefill; attention never
     * reads past the filled positions.
     */
    public void truncate(int keep) {
        if (keep < 0 || keep > position) {
            throw new IllegalArgumentException("Cannot keep " + keep + " of the " + position + " cached positions");
        }
        position = keep;
    }

    @Override
    public void close() {
        cache.close();
    }
}
