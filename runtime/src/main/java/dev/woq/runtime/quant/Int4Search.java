package dev.woq.runtime.quant;

import dev.woq.runtime.ConfigException;
import java.util.Locale;

/**
 * How an int4 group's scale and zero point are chosen. Both store the same layout (bf16 scale and
 * zero per group, codes 0..15), so the kernels read either.
 */
public enum Int4Search {
    /** Round to nearest over the group's min/max range (gpt-fast, torchao): {@link WeightCodec#quantizeInt4Row}. */
    NONE("none"),
    /**
     * The clipping range, scale and zero that minimise the group's squared error: {@link
     * Int4MseSearch#quantizeRow}. Never worse than {@link #NONE} on any group. The default.
     */
    MSE("mse");

    /** The search when none is named: {@link #MSE}. */
    public static final Int4Search DEFAULT = MSE;

    private final String cliName;

    Int4Search(String cliName) {
        this.cliName = cliName;
    }

    /** {@code none} or {@code mse}, as the command line and {@code woq_quantization.json} spell it. */
    public String cliName() {
        return cliName;
    }

    /**
     * Parses {@code none} or {@code mse} (case-insensitive).
     *
     * @throws ConfigException naming the value and the choices
     */
    public static Int4Search parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Int4Search s : values()) {
            if (s.cliName.equals(n)) {
                return s;
            }
        }
        throw new ConfigException("Unknown int4 search '" + name + "': choose mse (search the range that minimises"
                + " the squared error, the default) or none (round to nearest over min/max).");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
