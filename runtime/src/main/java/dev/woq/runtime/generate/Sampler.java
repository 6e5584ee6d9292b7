package dev.woq.runtime.generate;

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
        // One per sampler, so its scratch arrays are allocated once, not per token.
        NucleusSampler nucleus = new NucleusSampler();
        return logits -> nucleus.sample(logits, config, random.nextDouble());
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
     * uniform number {@code u} in [0, 1). Ranks the candidates by partial selection, never by
     * sorting the whole vocabulary ({@link NucleusSampler}).
     */
    static int sampleFrom(float[] logits, GenerationConfig config, double u) {
        return new NucleusSampler().sample(logits, config, u);
    }
}
