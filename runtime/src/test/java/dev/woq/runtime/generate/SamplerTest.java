package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Token picking from logits: greedy, temperature, top-k and top-p, without the engine. */
class SamplerTest {
    /** u values spread over [0, 1), both ends included. */
    private static final double[] GRID = grid(2000);
    /** A coarser grid for large vocabularies. */
    private static final double[] COARSE = grid(50);

    private static GenerationConfig sampling(double temperature, int topK, double topP, long seed) {
        return new GenerationConfig(16, temperature, topK, topP, 1.0, seed, Set.of());
    }

    private static double[] grid(int n) {
        double[] u = new double[n + 1];
        for (int i = 0; i < n; i++) {
            u[i] = i / (double) n;
        }
        u[n] = Math.nextDown(1.0);
        return u;
    }

    /** Logits whose softmax (at temperature 1) is {@code probs}. */
    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    private static double[] softmax(float[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static float[] randomLogits(Random r, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    /** Every token sampleFrom picks over the u grid. */
    private static Set<Integer> picksOverGrid(float[] logits, GenerationConfig config) {
        return picksOver(GRID, logits, config);
    }

    private static Set<Integer> picksOver(double[] us, float[] logits, GenerationConfig config) {
        Set<Integer> picked = new TreeSet<>();
        for (double u : us) {
            picked.add(Sampler.sampleFrom(logits.clone(), config, u));
        }
        return picked;
    }

    @Test
    void argmaxPicksTheLargestLogit() {
        float[] logits = {-3f, 0.5f, -0.25f, 7.5f, 7.25f, -100f, 2f};
        assertEquals(3, Sampler.argmax(logits));
        assertEquals(3, Sampler.ARGMAX.sample(logits.clone()));
        assertEquals(0, Sampler.argmax(new float[] {9f, 1f, 2f}), "maximum first");
        assertEquals(2, Sampler.argmax(new float[] {-9f, -8f, -1f}), "maximum last, all negative");
        assertEquals(1, Sampler.argmax(new float[] {1f, 4f, 4f}), "ties go to the lowest id");
    }

    @Test
    void greedyConfigSamplesTheArgmax() {
        Sampler greedy = Sampler.of(GenerationConfig.greedy(4, Set.of()));
        Random r = new Random(1);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = randomLogits(r, 500);
            assertEquals(Sampler.argmax(logits), greedy.sample(logits.clone()));
        }
    }

    @Test
    void temperatureSamplingWithTheSameSeedIsReproducible() {
        float[] logits = randomLogits(new Random(2), 300);
        GenerationConfig config = sampling(0.8, 40, 0.95, 1234);
        int[] first = drawMany(Sampler.of(config), logits, 200);
        int[] second = drawMany(Sampler.of(config), logits, 200);
        assertArrayEquals(first, second);
        assertTrue(Arrays.stream(first).distinct().count() > 1, "200 draws at temperature 0.8 all gave the same token");
        int[] otherSeed = drawMany(Sampler.of(sampling(0.8, 40, 0.95, 1235)), logits, 200);
        assertFalse(Arrays.equals(first, otherSeed), "another seed gave the same 200 draws");
    }

    private static int[] drawMany(Sampler sampler, float[] logits, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = sampler.sample(logits.clone());
        }
        return out;
    }

    @Test
    void topKOfOneIsArgmax() {
        Random r = new Random(3);
        for (int trial = 0; trial < 10; trial++) {
            float[] logits = randomLogits(r, 1000);
            int best = Sampler.argmax(logits);
            for (double temperature : new double[] {0.3, 1.0, 5.0}) {
                assertEquals(Set.of(best), picksOver(COARSE, logits, sampling(temperature, 1, 1.0, 0)),
                        "top-k 1 at temperature " + temperature);
            }
        }
    }

    @Test
    void tinyTopPPicksArgmaxOnAPeakedDistribution() {
        assertEquals(Set.of(2), picksOverGrid(logitsOf(0.15, 0.3, 0.5, 0.05), sampling(1.0, 0, 0.01, 0)));
        Random r = new Random(4);
        for (int trial = 0; trial < 10; trial++) {
            float[] logits = randomLogits(r, 1000);
            assertEquals(Set.of(Sampler.argmax(logits)), picksOver(COARSE, logits, sampling(1.0, 0, 0.01, 0)));
        }
    }

    @Test
    void tinyTopPPicksArgmaxEvenWhenNoTokenIsLikely() {
        // Every token is below (1 - p) / (n - 1) = 0.2475, the cut that skips tokens which cannot be
        // in the nucleus; the most likely token still always is.
        float[] flat = logitsOf(0.2, 0.21, 0.2, 0.2, 0.19);
        assertEquals(Set.of(1), picksOverGrid(flat, sampling(1.0, 0, 0.01, 0)));
        float[] uniform = new float[8];
        assertEquals(Set.of(0), picksOverGrid(uniform, sampling(1.0, 0, 0.01, 0)), "ties: lowest id");
    }

    @Test
    void topKRestrictsPicksToTheKBestTokens() {
        float[] logits = {0.1f, 2.0f, -1.0f, 1.5f, 0.9f, 1.7f, -0.3f, 0.0f, 1.0f, -2.0f};
        // The best three: 1 (2.0), 5 (1.7), 3 (1.5); each reachable, nothing else.
        assertEquals(Set.of(1, 3, 5), picksOverGrid(logits, sampling(1.0, 3, 1.0, 0)));
        assertEquals(Set.of(1, 3, 5, 8, 4), picksOverGrid(logits, sampling(1.0, 5, 1.0, 0)));
        assertEquals(10, picksOverGrid(logits, sampling(1.0, 0, 1.0, 0)).size(), "top-k 0 keeps every token");
        assertEquals(10, picksOverGrid(logits, sampling(1.0, 50, 1.0, 0)).size(), "top-k above the vocabulary");
    }

    @Test
    void topKRenormalizesOverTheKeptTokens() {
        // Kept: 0.5 and 0.3 → 0.625 and 0.375 of the draws.
        float[] logits = logitsOf(0.5, 0.3, 0.15, 0.05);
        GenerationConfig config = sampling(1.0, 2, 1.0, 0);
        assertEquals(0, Sampler.sampleFrom(logits.clone(), config, 0.62));
        assertEquals(1, Sampler.sampleFrom(logits.clone(), config, 0.63));
    }

    @Test
    void temperatureOneFrequenciesMatchSoftmax() {
        assertFrequenciesMatchSoftmax(new float[] {1.0f, 0.2f, -0.5f, 2.0f}, 1.0, 77);
    }

    @Test
    void otherTemperaturesFrequenciesMatchSoftmaxOfScaledLogits() {
        assertFrequenciesMatchSoftmax(new float[] {1.0f, 0.2f, -0.5f, 2.0f}, 0.5, 78);
        assertFrequenciesMatchSoftmax(new float[] {1.0f, 0.2f, -0.5f, 2.0f}, 2.5, 79);
    }

    /** 20,000 draws: the standard error of each frequency is below 0.0036, so ±0.02 is > 5 sigma. */
    private static void assertFrequenciesMatchSoftmax(float[] logits, double temperature, long seed) {
        int draws = 20_000;
        Sampler sampler = Sampler.of(sampling(temperature, 0, 1.0, seed));
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits.clone())]++;
        }
        double[] expected = softmax(logits, temperature);
        for (int i = 0; i < logits.length; i++) {
            double freq = counts[i] / (double) draws;
            assertEquals(expected[i], freq, 0.02,
                    "token " + i + " at temperature " + temperature + ": frequencies " + Arrays.toString(counts)
                            + " vs softmax " + Arrays.toString(expected));
        }
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // Probabilities 0.5, 0.3, 0.15, 0.05, shuffled: the first two reach 0.75, so only they are kept.
        float[] logits = logitsOf(0.15, 0.5, 0.05, 0.3);
        assertEquals(Set.of(1, 3), picksOverGrid(logits, sampling(1.0, 0, 0.75, 0)));
        assertEquals(Set.of(1), picksOverGrid(logits, sampling(1.0, 0, 0.45, 0)), "the best alone reaches 0.45");
        assertEquals(Set.of(0, 1, 3), picksOverGrid(logits, sampling(1.0, 0, 0.9, 0)));
        assertEquals(Set.of(0, 1, 2, 3), picksOverGrid(logits, sampling(1.0, 0, 0.99, 0)));
    }

    @Test
    void topPAfterTopKIsMeasuredOnTheTopKDistribution() {
        // As Hugging Face and llama.cpp: top-k {0.4, 0.3} renormalizes to {0.57, 0.43}, so top-p 0.5
        // keeps the best token alone (measured on the full distribution, 0.4 < 0.5 would keep two).
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        assertEquals(Set.of(0), picksOverGrid(logits, sampling(1.0, 2, 0.5, 0)));
        assertEquals(Set.of(0, 1), picksOverGrid(logits, sampling(1.0, 2, 0.6, 0)));
    }

    @Test
    void topPRenormalizesOverTheNucleus() {
        // Nucleus {1: 0.5, 3: 0.3}: token 1 for u below 0.5 / 0.8 = 0.625, token 3 above.
        float[] logits = logitsOf(0.15, 0.5, 0.05, 0.3);
        GenerationConfig config = sampling(1.0, 0, 0.75, 0);
        assertEquals(1, Sampler.sampleFrom(logits.clone(), config, 0.0));
        assertEquals(1, Sampler.sampleFrom(logits.clone(), config, 0.62));
        assertEquals(3, Sampler.sampleFrom(logits.clone(), config, 0.63));
        assertEquals(3, Sampler.sampleFrom(logits.clone(), config, Math.nextDown(1.0)));
    }

    @Test
    void topPFrequenciesMatchTheRenormalizedNucleus() {
        float[] logits = logitsOf(0.15, 0.5, 0.05, 0.3);
        Sampler sampler = Sampler.of(sampling(1.0, 0, 0.75, 5));
        int[] counts = new int[4];
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits.clone())]++;
        }
        assertEquals(0, counts[0] + counts[2], "tokens outside the nucleus were drawn: " + Arrays.toString(counts));
        assertEquals(0.625, counts[1] / (double) draws, 0.02, Arrays.toString(counts));
    }

    @Test
    void temperatureSharpensAndFlattensTheDistribution() {
        // At u = 0.9 a flat distribution reaches the last of three tokens; a sharp one stays on the best.
        float[] logits = {2.0f, 1.0f, 0.0f};
        assertEquals(0, Sampler.sampleFrom(logits.clone(), sampling(0.05, 0, 1.0, 0), 0.9));
        assertEquals(2, Sampler.sampleFrom(logits.clone(), sampling(100.0, 0, 1.0, 0), 0.9));
    }
}
