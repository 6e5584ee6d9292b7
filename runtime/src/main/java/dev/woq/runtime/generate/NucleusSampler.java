package dev.woq.runtime.generate;

import java.util.Arrays;

/**
 * Temperature, top-k and top-p sampling over a whole vocabulary without sorting it: the
 * candidates are ranked by partial selection, a block of the best at a time, and only the block
 * is sorted. Top-k sorts its k; top-p sorts blocks of 64, 256, 1024... until the kept mass
 * reaches p, which for a language model's peaked distribution is the first block. The tokens
 * kept and their order are exactly those of a full sort (larger probability first, then the
 * smaller id), so the same {@code u} picks the same token.
 *
 * <p>Keeps its scratch arrays between calls, so a step allocates nothing: one instance per
 * sequence, not shared between threads.
 */
final class NucleusSampler {
    /** The first block of top-p candidates sorted; each later one is four times larger. */
    private static final int FIRST_BLOCK = 64;

    private double[] probs = new double[0];
    private long[] keys = new long[0];
    private int[] kept = new int[0];

    /**
     * Softmax at the config's temperature, restricted to top-k and then top-p, sampled with the
     * uniform number {@code u} in [0, 1).
     */
    int sample(float[] logits, GenerationConfig config, double u) {
        int n = logits.length;
        if (probs.length < n) {
            probs = new double[n];
            keys = new long[n];
            kept = new int[n];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double temperature = config.temperature();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp((logits[i] - max) / temperature);
            sum += probs[i];
        }
        for (int i = 0; i < n; i++) {
            probs[i] /= sum;
        }
        int k = config.topK() > 0 ? Math.min(config.topK(), n) : n;
        double topP = config.topP();
        if (k == n && topP >= 1) {
            return pickInOrder(n, u);
        }
        int count;
        double norm;
        int end;
        if (k < n) {
            for (int i = 0; i < n; i++) {
                keys[i] = key(probs[i], i);
            }
            selectLargest(keys, 0, n, k);
            Arrays.sort(keys, n - k, n);
            // top-p applies to the distribution renormalized over the top-k, as Hugging Face and
            // llama.cpp do; summed in ascending order, as a full sort would have it.
            norm = 0;
            for (int i = n - k; i < n; i++) {
                norm += probs[index(keys[i])];
            }
            count = n;
            end = n - k;
        } else {
            count = aboveNucleusCut(topP, n);
            norm = 1;
            end = count;
        }
        int keep = 0;
        double mass = 0;
        double target = topP * norm;
        // Walk the candidates from the most likely: [end, count) is sorted; below end, the rest.
        int sortedFrom = end;
        int block = FIRST_BLOCK;
        int i = count - 1;
        while (true) {
            if (i < sortedFrom) {
                if (k < n || sortedFrom == 0) {
                    break; // top-k's candidates are all walked, or every top-p candidate is
                }
                int m = Math.min(block, sortedFrom);
                selectLargest(keys, 0, sortedFrom, m);
                Arrays.sort(keys, sortedFrom - m, sortedFrom);
                sortedFrom -= m;
                block *= 4;
            }
            int id = index(keys[i--]);
            kept[keep++] = id;
            mass += probs[id];
            if (mass >= target) {
                break;
            }
        }
        return pick(keep, u);
    }

    /** Sortable key: larger probability first when read from the end, then the smaller id. */
    private static long key(double prob, int id) {
        return ((long) Float.floatToIntBits((float) prob) << 32) | (Integer.MAX_VALUE - id);
    }

    private static int index(long key) {
        return Integer.MAX_VALUE - (int) (key & 0xFFFFFFFFL);
    }

    /**
     * Puts the keys of tokens that may be inside the top-p set first in {@code keys} and returns
     * how many. One below {@code (1-p)/(n-1)} never is (llama2.c's cut); the cut never exceeds the
     * top probability, so the most likely token always stays.
     */
    private int aboveNucleusCut(double topP, int n) {
        double top = 0;
        for (int i = 0; i < n; i++) {
            top = Math.max(top, probs[i]);
        }
        double cutoff = Math.min((1 - topP) / Math.max(1, n - 1), top);
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                keys[count++] = key(probs[i], i);
            }
        }
        return count;
    }

    /**
     * Rearranges {@code a[from, to)} so that its {@code m} largest keys are in
     * {@code a[to - m, to)}, in no particular order (quickselect; keys are distinct).
     */
    static void selectLargest(long[] a, int from, int to, int m) {
        int target = to - m; // the first index of the m largest, once in place
        int lo = from;
        int hi = to - 1;
        while (lo < hi && target > from) {
            int mid = (lo + hi) >>> 1;
            // Median of three as the pivot, so sorted or reversed input stays linear.
            long x = a[lo];
            long y = a[mid];
            long z = a[hi];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] <= pivot <= a[i..hi], and j < i.
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                break; // target lies between: everything from it on is >= everything before
            }
        }
    }

    /** Samples over every token, in id order. */
    private int pickInOrder(int n, double u) {
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += probs[i];
        }
        double target = u * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[i];
            if (acc > target) {
                return i;
            }
        }
        return n - 1;
    }

    /** Samples over the first {@code count} kept tokens, in their order. */
    private int pick(int count, double u) {
        double total = 0;
        for (int i = 0; i < count; i++) {
            total += probs[kept[i]];
        }
        double target = u * total;
        double acc = 0;
        for (int i = 0; i < count; i++) {
            acc += probs[kept[i]];
            if (acc > target) {
                return kept[i];
            }
        }
        return kept[count - 1];
    }
}
