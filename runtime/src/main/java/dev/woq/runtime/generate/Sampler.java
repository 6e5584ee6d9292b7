package dev.woq.runtime.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. {@link #ARGMAX} is greedy decoding; {@link #of} builds one
 * from a {@link GenerationConfig} (temperature, top-k, top-p, seeded).
 */
@FunctionalInterface
public interface Sampler {
    /** Picks a token id; may modify {@code logits}. */
    int sample(float[] logits);

    Sampler ARGMAX = Sampler::argmax;

    static Sampler of(GenerationConfig config) {
        if (config.isGreedy()) {
            return ARGMAX;
        }
        SplittableRandom random = new SplittableRandom(config.seed());
        return logits -> sampleFrom(logits, config, random.nextDouble());
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Softmax at the config's temperature, restricted to top-k and then top-p, sampled with the
     * uniform number {@code u} in [0, 1).
     */
    static int sampleFrom(float[] logits, GenerationConfig config, double u) {
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] probs = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp((logits[i] - max) / config.temperature());
            sum += probs[i];
        }
        for (int i = 0; i < n; i++) {
            probs[i] /= sum;
        }
        int k = config.topK() > 0 ? Math.min(config.topK(), n) : n;
        if (k == n && config.topP() >= 1) {
            return pick(probs, identity(n), n, u);
        }
        // Candidates as primitive keys (probability bits, then index) sorted ascending, so the
        // best come last; a 128k vocabulary sorts in a few milliseconds, not tens.
        long[] keys = k < n ? topKKeys(probs, k) : aboveNucleusCut(probs, config.topP());
        Arrays.sort(keys);
        // top-p applies to the distribution renormalized over the top-k, as Hugging Face and
        // llama.cpp do.
        double norm = 0;
        if (k < n) {
            for (long key : keys) {
                norm += probs[index(key)];
            }
        } else {
            norm = 1;
        }
        int keep = 0;
        double mass = 0;
        int[] kept = new int[keys.length];
        for (int i = keys.length - 1; i >= 0; i--) {
            int id = index(keys[i]);
            kept[keep++] = id;
            mass += probs[id];
            if (mass >= config.topP() * norm) {
                break;
            }
        }
        return pick(probs, kept, keep, u);
    }

    /** Sortable key: larger probability first when read from the end, then the smaller id. */
    private static long key(double prob, int id) {
        return ((long) Float.floatToIntBits((float) prob) << 32) | (Integer.MAX_VALUE - id);
    }

    private static int index(long key) {
        return Integer.MAX_VALUE - (int) (key & 0xFFFFFFFFL);
    }

    /** The k most likely tokens, found with a bounded min-heap in O(n log k). */
    private static long[] topKKeys(double[] probs, int k) {
        java.util.PriorityQueue<Long> heap = new java.util.PriorityQueue<>(k + 1);
        for (int i = 0; i < probs.length; i++) {
            long key = key(probs[i], i);
            if (heap.size() < k) {
                heap.add(key);
            } else if (key > heap.peek()) {
                heap.poll();
                heap.add(key);
            }
        }
        long[] out = new long[heap.size()];
        int i = 0;
        for (long key : heap) {
            out[i++] = key;
        }
        return out;
    }

    /**
     * Tokens that may be inside the top-p set. One below {@code (1-p)/(n-1)} never is (llama2.c's
     * cut); the cut never exceeds the top probability, so the most likely token always stays.
     */
    private static long[] aboveNucleusCut(double[] probs, double topP) {
        int n = probs.length;
        double top = 0;
        for (double p : probs) {
            top = Math.max(top, p);
        }
        double cutoff = Math.min((1 - topP) / Math.max(1, n - 1), top);
        long[] keys = new long[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                keys[count++] = key(probs[i], i);
            }
        }
        return Arrays.copyOf(keys, count);
    }

    private static int pick(double[] probs, int[] ids, int count, double u) {
        double total = 0;
        for (int i = 0; i < count; i++) {
            total += probs[ids[i]];
        }
        double target = u * total;
        double acc = 0;
        for (int i = 0; i < count; i++) {
            acc += probs[ids[i]];
            if (acc > target) {
                return ids[i];
            }
        }
        return ids[count - 1];
    }

    private static int[] identity(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return ids;
    }
}
