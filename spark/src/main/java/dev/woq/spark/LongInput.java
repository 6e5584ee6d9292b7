package dev.woq.spark;

import dev.woq.runtime.ConfigException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What to do with a row whose prompt, with room for max_new_tokens, is longer than the model's context. */
public enum LongInput {
    /** The row gets an {@code error} value saying both counts; the job goes on. */
    ERROR,
    /** The text column is cut to the tokens that fit. */
    TRUNCATE,
    /**
     * The text column is split into parts that fit, each part is generated with the prompt, then the
     * prompt runs once more on the parts' completions joined (cut to fit if they still do not).
     */
    MAP_REDUCE;

    /** The command line's spelling: {@code error}, {@code truncate}, {@code map-reduce}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses {@link #cliName()}. */
    public static LongInput parse(String name) {
        for (LongInput mode : values()) {
            if (mode.cliName().equals(name.toLowerCase(Locale.ROOT))) {
                return mode;
            }
        }
        throw new ConfigException("Unknown long-input mode '" + name + "': choose one of "
                + Arrays.stream(values()).map(LongInput::cliName).collect(Collectors.joining(", ")));
    }
}
