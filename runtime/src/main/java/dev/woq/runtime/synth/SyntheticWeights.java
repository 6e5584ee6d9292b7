package dev.woq.runtime.synth;

import dev.woq.runtime.ConfigException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a synthetic checkpoint's matrices are drawn. Random Gaussian weights flatter every
 * quantizer (no outliers to stretch a group's range); {@link #LLM_LIKE} reproduces what published
 * analyses of trained Llama checkpoints show, so that quantizer comparisons mean something
 * without real weights.
 */
public enum SyntheticWeights {
    /** N(0, std) for every matrix: fast, and the default. */
    RANDOM("random"),
    /**
     * Heavy tails, outlier input channels and per-matrix scales, as in trained Llama weights:
     * values from a Student-t with {@link LlmLikeBf16#DEGREES_OF_FREEDOM} degrees of freedom
     * (excess kurtosis 6 where a Gaussian has 0) scaled to the std; in every matrix a few input
     * columns ({@code max(2, in / 256)}) scaled up {@link LlmLikeBf16#MIN_OUTLIER_GAIN} to {@link
     * LlmLikeBf16#MAX_OUTLIER_GAIN} times, like the outlier features of LLM.int8() and AWQ's
     * salient channels; and each matrix's std multiplied by a log-normal factor exp(N(0, {@link
     * LlmLikeBf16#SCALE_SPREAD})), so layers differ in magnitude.
     */
    LLM_LIKE("llm-like");

    private final String cliName;

    SyntheticWeights(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Parses {@code random} or {@code llm-like}. */
    public static SyntheticWeights parse(String name) {
        for (SyntheticWeights w : values()) {
            if (w.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return w;
            }
        }
        throw new ConfigException("Unknown weights '" + name + "': choose one of "
                + Arrays.stream(values()).map(SyntheticWeights::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
