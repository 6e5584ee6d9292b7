package dev.woq.runtime.format;

import dev.woq.runtime.ConfigException;
import java.util.Locale;

/**
 * How a model's projection weights are stored and multiplied: bf16 as the checkpoint holds them,
 * int8 with one scale per output channel, or int4 with a scale and zero point per group of inputs.
 * It is what {@code --dtype} (with {@code --group-size}) means, from the command line to the
 * registry entry's name and the kernels that run it.
 */
public sealed interface WeightFormat permits WeightFormat.Bf16, WeightFormat.Int8, WeightFormat.Int4 {
    /** bf16 weights, as the Hugging Face checkpoint holds them. */
    WeightFormat BF16 = new Bf16();
    /** int8 codes with one bf16 scale per output channel. */
    WeightFormat INT8 = new Int8();
    /** The int4 group size when none is given. */
    int DEFAULT_GROUP_SIZE = 128;
    /** The int4 format when no group size is given. */
    WeightFormat INT4 = new Int4(DEFAULT_GROUP_SIZE);

    /** The name a registry entry and the startup line use: {@code bf16}, {@code int8}, {@code int4-g128}. */
    String id();

    /** What {@code --dtype} says: {@code bf16}, {@code int8} or {@code int4}. */
    String dtype();

    /** Bits stored per weight, scales and zero points included. */
    double bitsPerWeight();

    /** Whether the weights are quantized (stored in a registry entry rather than the model directory). */
    default boolean quantized() {
        return !(this instanceof Bf16);
    }

    /** bf16: two bytes a weight. */
    record Bf16() implements WeightFormat {
        @Override
        public String id() {
            return "bf16";
        }

        @Override
        public String dtype() {
            return "bf16";
        }

        @Override
        public double bitsPerWeight() {
            return 16;
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /** Symmetric int8 per output channel; the scale's 16 bits per row are negligible per weight. */
    record Int8() implements WeightFormat {
        @Override
        public String id() {
            return "int8";
        }

        @Override
        public String dtype() {
            return "int8";
        }

        @Override
        public double bitsPerWeight() {
            return 8;
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * Asymmetric int4, group-wise along the input dimension: a bf16 scale and zero per group.
     *
     * @param groupSize 32, 64 or 128
     */
    record Int4(int groupSize) implements WeightFormat {
        /** The group sizes the kernels run, as a user reads them in an error. */
        public static final String GROUP_SIZES_TEXT = "32, 64 or 128";

        public Int4 {
            if (groupSize != 32 && groupSize != 64 && groupSize != 128) {
                throw new ConfigException("Unsupported int4 group size " + groupSize + ": choose " + GROUP_SIZES_TEXT
                        + " (smaller groups are more accurate and a little larger on disk).");
            }
        }

        @Override
        public String id() {
            return "int4-g" + groupSize;
        }

        @Override
        public String dtype() {
            return "int4";
        }

        @Override
        public double bitsPerWeight() {
            return 4 + 32.0 / groupSize;
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * The format a command line asks for.
     *
     * @param dtype {@code bf16}, {@code int8} or {@code int4} (case-insensitive)
     * @param groupSize the int4 group size, or {@code null} for the default; refused with the others
     * @throws ConfigException naming the value refused and the values accepted
     */
    static WeightFormat parse(String dtype, Integer groupSize) {
        String d = dtype == null ? "" : dtype.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "int4":
                return new Int4(groupSize == null ? DEFAULT_GROUP_SIZE : groupSize);
            case "int8":
            case "bf16":
                if (groupSize != null) {
                    throw new ConfigException("Group size " + groupSize + " was given with " + d + ", which has no groups"
                            + (d.equals("int8") ? " (one scale per output channel)" : "")
                            + ". Drop the group size, or use int4 (group sizes " + Int4.GROUP_SIZES_TEXT + ").");
                }
                return d.equals("int8") ? INT8 : BF16;
            default:
                throw new ConfigException("Unknown dtype '" + dtype + "'. Choose bf16 (the checkpoint as it is), int8 "
                        + "(per channel) or int4 (group-wise, group size " + Int4.GROUP_SIZES_TEXT + ", default "
                        + DEFAULT_GROUP_SIZE + ").");
        }
    }

    /** The format named by {@link #id()}: {@code bf16}, {@code int8}, {@code int4-g32}... */
    static WeightFormat ofId(String id) {
        String s = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("int4-g")) {
            try {
                return new Int4(Integer.parseInt(s.substring("int4-g".length())));
            } catch (NumberFormatException e) {
                throw new ConfigException("Unknown weight format '" + id + "': expected bf16, int8 or int4-g<32|64|128>");
            }
        }
        if (s.equals("int4")) {
            throw new ConfigException("Weight format 'int4' needs its group size: int4-g32, int4-g64 or int4-g128");
        }
        return parse(s, null);
    }
}
