package dev.woq.cli;

import dev.woq.runtime.generate.GenerationConfig;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Option;

/** How tokens are picked and how many: the options {@code generate} and {@code chat} share. */
final class SamplingOptions {
    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256",
            description = "Stop after N new tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.6",
            description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}, as Llama 3 Instruct).")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.9",
            description = "Nucleus sampling: keep the most likely tokens up to probability P (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0",
            description = "Keep only the K most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1.0",
            description = "Penalize tokens already seen; 1 is off (default: ${DEFAULT-VALUE}).")
    double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "N",
            description = "Sampling seed: the same seed and settings give the same tokens (default: random, printed).")
    Long seed;

    private Long seedUsed;

    /** The seed in use: --seed, or one drawn once and then kept, so it can be printed and reused. */
    long seed() {
        if (seedUsed == null) {
            seedUsed = seed != null ? seed : ThreadLocalRandom.current().nextLong(1L << 31);
        }
        return seedUsed;
    }

    /** The generation settings; checks the values, so call it before loading a model. */
    GenerationConfig config(Set<Integer> stopTokenIds) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed(), stopTokenIds);
    }
}
