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
        // Tokens below this probability can never be inside the top-p set (llama2.c's cut),
        // so only the few candidates above it are sorted. The most likely token always is inside:
        // the cut never exceeds its probability (a tiny p on a flat distribution would cut them all).
        double top = 0;
        for (double p : probs) {
            top = Math.max(top, p);
        }
        double cutoff = config.topP() < 1 ? Math.min((1 - config.topP()) / (n - 1), top) : 0;
        int[] candidates = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                candidates[count++] = i;
            }
        }
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = candidates[i];
        }
        Arrays.sort(order, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
        int keep = Math.min(k, count);
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += probs[order[i]];
            if (mass >= config.topP()) {
                keep = i + 1;
                break;
            }
        }
        int[] kept = new int[keep];
        for (int i = 0; i < keep; i++) {
            kept[i] = order[i];
        }
        return pick(probs, kept, keep, u);
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
