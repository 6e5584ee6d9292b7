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
    LLM_LIKE("llm-like"),
    /**
     * {@link #LLM_LIKE} matrices, and activations with outlier features: the same {@link
     * #outlierChannels} hidden channels of every RMSNorm weight scaled {@link #OUTLIER_NORM_GAIN}
     * times, so that every projection reading the normalised residual sees those inputs louder
     * than the rest on every token, as LLM.int8() (Dettmers et al., 2022) finds in the same few
     * hidden dimensions across the layers of trained models. What activation-aware quantization
     * ({@code woq quantize --calibration}) is for; with {@link #LLM_LIKE} the loud inputs are
     * whichever the text's frequent tokens happen to excite.
     */
    LLM_LIKE_OUTLIERS("llm-like-outliers");

    /** How many times louder the outlier features' norm weights are than the others (about 1). */
    public static final float OUTLIER_NORM_GAIN = 8f;

    private final String cliName;

    SyntheticWeights(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Whether the matrices are drawn as {@link #LLM_LIKE}'s. */
    public boolean llmLikeMatrices() {
        return this != RANDOM;
    }

    /**
     * The hidden channels made loud by {@link #LLM_LIKE_OUTLIERS} for a model of width {@code hidden}:
     * {@code max(4, hidden / 512)} of them, drawn from {@code seed}, the same in every norm.
     */
    public static int[] outlierChannels(int hidden, long seed) {
        int count = Math.min(hidden, Math.max(4, hidden / 512));
        return new java.util.Random(seed ^ 0x6f75746cL).ints(0, hidden).distinct().limit(count).sorted().toArray();
    }

    /** Parses {@code random}, {@code llm-like} or {@code llm-like-outliers}. */
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
