package dev.woq.runtime.generate;

import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.KvPrefix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The KV caches of recent prompts, so that a prompt starting with the same tokens (a shared
 * system prompt, the earlier turns of a conversation) takes their keys and values instead of
 * computing them, as llama.cpp's server does with {@code cache_prompt}. Entries are keyed by
 * their token ids; a new prompt reuses the longest prefix it shares with any entry. Bounded in
 * native memory: the least recently used entries go first. Not thread-safe (the batcher's thread
 * owns it).
 */
public final class PrefixCache implements AutoCloseable {
    private final long maxBytes;
    // Access order: iteration starts at the least recently used entry.
    private final LinkedHashMap<Key, KvPrefix> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    /** @param maxBytes native memory the copies may hold at most; 0 turns the cache off */
    public PrefixCache(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /**
     * Restores into the fresh {@code session} the longest prefix {@code prompt} shares with a
     * cached one, keeping at least the prompt's last token to compute (its logits are needed).
     *
     * @return the positions restored: 0 when nothing matched
     */
    public int restore(InferenceSession session, int[] prompt) {
        Key best = null;
        int bestLength = 0;
        for (Key key : entries.keySet()) {
            int shared = Math.min(commonPrefix(key.ids, prompt), prompt.length - 1);
            if (shared > bestLength) {
                best = key;
                bestLength = shared;
            }
        }
        if (best == null) {
            return 0;
        }
        session.restore(entries.get(best), bestLength); // get() marks it recently used
        return bestLength;
    }

    /**
     * Keeps a copy of the first {@code prompt.length} positions of {@code session}, whose cache
     * holds {@code prompt}. An entry the prompt extends is replaced; nothing is copied when an
     * entry already covers the prompt or the copy alone would exceed the bound.
     */
    public void store(InferenceSession session, int[] prompt) {
        if (maxBytes == 0 || prompt.length == 0) {
            return;
        }
        Key covering = null;
        List<Key> extended = new ArrayList<>();
        for (Key key : entries.keySet()) {
            int shared = commonPrefix(key.ids, prompt);
            if (shared == prompt.length) {
                covering = key;
                break;
            }
            if (shared == key.ids.length) {
                extended.add(key); // the new prompt extends it: the new copy replaces it
            }
        }
        if (covering != null) {
            entries.get(covering); // already held: mark it used
            return;
        }
        for (Key key : extended) {
            KvPrefix old = entries.remove(key);
            bytes -= old.bytes();
            old.close();
        }
        KvPrefix copy = session.snapshot(prompt.length);
        if (copy.bytes() > maxBytes) {
            copy.close();
            return;
        }
        entries.put(new Key(prompt.clone()), copy);
        bytes += copy.bytes();
        for (Iterator<KvPrefix> it = entries.values().iterator(); bytes > maxBytes && it.hasNext(); ) {
            KvPrefix oldest = it.next();
            it.remove();
            bytes -= oldest.bytes();
            oldest.close();
        }
    }

    /** Entries held. */
    public int size() {
        return entries.size();
    }

    /** Native bytes the entries hold. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        entries.values().forEach(KvPrefix::close);
        entries.clear();
        bytes = 0;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int mismatch = Arrays.mismatch(a, 0, n, b, 0, n);
        return mismatch < 0 ? n : mismatch;
    }

    /** Token ids compared by value. */
    private record Key(int[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(ids, k.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }
    }
}
