package dev.woq.runtime.generate;

import dev.woq.runtime.ConfigException;
import java.util.Set;

/**
 * How to pick tokens and when to stop.
 *
 * @param maxNewTokens stop after this many generated tokens
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it
 * @param topK keep the k most likely tokens (0: all)
 * @param topP keep the smallest set whose probability reaches p (1: all)
 * @param repetitionPenalty Hugging Face's: divides positive and multiplies negative logits of tokens
 *     already in the sequence (1: off)
 * @param seed seeds the sampler: the same seed and settings give the same tokens
 * @param stopTokenIds ids that end generation (the model's eos ids and the chat format's)
 */
public record GenerationConfig(
        int maxNewTokens, double temperature, int topK, double topP, double repetitionPenalty, long seed,
        Set<Integer> stopTokenIds) {

    public GenerationConfig {
        stopTokenIds = Set.copyOf(stopTokenIds);
        if (maxNewTokens < 1) {
            throw new ConfigException("max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new ConfigException("temperature must be >= 0 (0 is greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new ConfigException("top-k must be >= 0 (0 keeps all tokens), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new ConfigException("top-p must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new ConfigException("repetition-penalty must be > 0 (1 is off), got " + repetitionPenalty);
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens}, stopping at {@code stopTokenIds}. */
    public static GenerationConfig greedy(int maxNewTokens, Set<Integer> stopTokenIds) {
        return new GenerationConfig(maxNewTokens, 0, 0, 1, 1, 0, stopTokenIds);
    }

    /** The same settings, also stopping at {@code more}. */
    public GenerationConfig withStopTokens(Set<Integer> more) {
        Set<Integer> all = new java.util.HashSet<>(stopTokenIds);
        all.addAll(more);
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, all);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
