package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Partial selection picks exactly what sorting the whole vocabulary picked: the same token for
 * the same u, at Llama 3's vocabulary size, for peaked and flat distributions.
 */
class NucleusSamplerTest {
    private static final int VOCAB = 128_256;

    private static GenerationConfig sampling(double temperature, int topK, double topP) {
        return new GenerationConfig(16, temperature, topK, topP, 1.0, 0, Set.of());
    }

    /** Logits like a language model's: a few tokens far above a Gaussian crowd. */
    private static float[] peaked(Random r) {
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            l[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < 20; i++) {
            l[r.nextInt(VOCAB)] = 8 + (float) r.nextGaussian() * 2;
        }
        return l;
    }

    /** Logits of a random-weight model: almost flat, so the nucleus is most of the vocabulary. */
    private static float[] flat(Random r) {
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            l[i] = (float) (r.nextGaussian() * 0.3);
        }
        return l;
    }

    @Test
    void picksTheSameTokensAsAFullSortOnPeakedAndFlatLogits() {
        Random r = new Random(11);
        GenerationConfig[] configs = {
            sampling(0.6, 0, 0.9), sampling(1.0, 40, 0.95), sampling(0.8, 1000, 1.0), sampling(1.0, 0, 0.5),
            sampling(1.3, 5, 0.3), sampling(0.6, 0, 0.999),
        };
        double[] us = {0.0, 0.001, 0.25, 0.5, 0.77, 0.999, Math.nextDown(1.0)};
        NucleusSampler reused = new NucleusSampler();
        for (int trial = 0; trial < 2; trial++) {
            float[] logits = trial % 2 == 0 ? peaked(r) : flat(r);
            for (GenerationConfig config : configs) {
                for (double u : us) {
                    int expected = FullSortSampler.sample(logits.clone(), config, u);
                    assertEquals(expected, reused.sample(logits.clone(), config, u),
                            "trial " + trial + ", " + config + ", u " + u);
                    assertEquals(expected, Sampler.sampleFrom(logits.clone(), config, u));
                }
            }
        }
    }

    @Test
    void picksTheSameTokensAsAFullSortWithTiesAndSmallVocabularies() {
        float[] ties = new float[300];
        for (int i = 0; i < ties.length; i++) {
            ties[i] = (i % 7) * 0.5f; // many equal probabilities: the smaller id ranks first
        }
        for (GenerationConfig config : new GenerationConfig[] {
                sampling(1.0, 0, 0.9), sampling(1.0, 13, 0.8), sampling(2.0, 100, 1.0), sampling(1.0, 0, 0.01)}) {
            for (int step = 0; step < 100; step++) {
                double u = step / 100.0;
                assertEquals(FullSortSampler.sample(ties.clone(), config, u),
                        Sampler.sampleFrom(ties.clone(), config, u), config + ", u " + u);
            }
        }
    }

    @Test
    void selectLargestMovesTheLargestKeysToTheEnd() {
        Random r = new Random(5);
        for (int n : new int[] {1, 2, 3, 10, 1000, 5000}) {
            for (int m : new int[] {1, 2, n / 2 + 1, n}) {
                if (m < 1 || m > n) {
                    continue;
                }
                long[] a = r.longs(n).distinct().toArray();
                long[] sorted = a.clone();
                Arrays.sort(sorted);
                long[] work = a.clone();
                NucleusSampler.selectLargest(work, 0, work.length, m);
                long[] top = Arrays.copyOfRange(work, work.length - m, work.length);
                Arrays.sort(top);
                assertArrayEquals(Arrays.copyOfRange(sorted, sorted.length - m, sorted.length), top, "n " + n + ", m " + m);
                long[] sortedAscending = a.clone();
                Arrays.sort(sortedAscending);
                NucleusSampler.selectLargest(sortedAscending, 0, n, m); // already ordered input
                assertEquals(sorted[n - m], Arrays.stream(sortedAscending, n - m, n).min().getAsLong());
            }
        }
    }

    /** The sampler as it was before partial selection: every candidate sorted, as the reference. */
    private static final class FullSortSampler {
        static int sample(float[] logits, GenerationConfig config, double u) {
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
            long[] keys;
            if (k < n) {
                keys = new long[n];
                for (int i = 0; i < n; i++) {
                    keys[i] = key(probs[i], i);
                }
                Arrays.sort(keys);
                keys = Arrays.copyOfRange(keys, n - k, n);
            } else {
                double top = Arrays.stream(probs).max().getAsDouble();
                double cutoff = Math.min((1 - config.topP()) / Math.max(1, n - 1), top);
                keys = new long[n];
                int count = 0;
                for (int i = 0; i < n; i++) {
                    if (probs[i] >= cutoff) {
                        keys[count++] = key(probs[i], i);
                    }
                }
                keys = Arrays.copyOf(keys, count);
                Arrays.sort(keys);
            }
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
            double total = 0;
            for (int i = 0; i < keep; i++) {
                total += probs[kept[i]];
            }
            double target = u * total;
            double acc = 0;
            for (int i = 0; i < keep; i++) {
                acc += probs[kept[i]];
                if (acc > target) {
                    return kept[i];
                }
            }
            return kept[keep - 1];
        }

        private static long key(double prob, int id) {
            return ((long) Float.floatToIntBits((float) prob) << 32) | (Integer.MAX_VALUE - id);
        }

        private static int index(long key) {
            return Integer.MAX_VALUE - (int) (key & 0xFFFFFFFFL);
        }
    }
}
