package dev.woq.runtime.model;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/** Comparisons of two logit vectors. */
final class Logits {
    private Logits() {}

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** log(softmax(x)) in double precision, with the max subtracted first. */
    static double[] logSoftmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] - lse;
        }
        return out;
    }

    static double std(float[] a) {
        double mean = 0;
        for (float v : a) {
            mean += v;
        }
        mean /= a.length;
        double var = 0;
        for (float v : a) {
            var += (v - mean) * (v - mean);
        }
        return Math.sqrt(var / a.length);
    }

    static int[] topK(float[] logits, int k) {
        Integer[] idx = new Integer[logits.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (x, y) -> Float.compare(logits[y], logits[x]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    /** How many of a's top k are among b's top k. */
    static int topKOverlap(float[] a, float[] b, int k) {
        Set<Integer> sb = new HashSet<>();
        for (int id : topK(b, k)) {
            sb.add(id);
        }
        int n = 0;
        for (int id : topK(a, k)) {
            if (sb.contains(id)) {
                n++;
            }
        }
        return n;
    }
}
