package dev.woq.runtime.quant;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import java.util.Locale;

/**
 * How to quantize a Llama checkpoint's projection weights: int4 in groups of 32 with 8-bit scale and
 * zero codes ({@link Int4Q32WeightOnly}, the default int4), int4 group-wise with bf16 scales and
 * zeros ({@link Int4WeightOnly}), int8 with a bf16 scale per group of 32 ({@link Int8G32WeightOnly},
 * the default int8) or int8 per output channel ({@link Int8WeightOnly}, entries made before). Written
 * beside the quantized weights as {@code woq_quantization.json} ({@link #toJson()}), e.g.
 * {@code {"dtype":"int4","layout":"q32","group_size":32,...,"search":"mse"}} or {@code
 * {"dtype":"int4","group_size":128,"quantize_lm_head":true,"search":"mse"}}; an int4 recipe without
 * {@code search} was rounded to nearest, one without {@code layout} has bf16 scales; {@code
 * "calibration"} names the text an int4 search was weighted by ({@link Calibration}).
 */
public sealed interface QuantRecipe permits Int4Q32WeightOnly, Int4WeightOnly, Int8G32WeightOnly, Int8WeightOnly {
    /** The file {@link Quantizer} writes the recipe to. */
    String FILE_NAME = "woq_quantization.json";

    /** The group size of int4 with bf16 scales when {@code group_size} is missing from an old recipe. */
    int DEFAULT_GROUP_SIZE = 128;

    /**
     * Short name: {@code "int4-g128"}, {@code "int4-g64"}, {@code "int4-g32"} (each with {@code
     * "-rtn"} for round-to-nearest) or {@code "int8"}; the registry names entries by it.
     */
    String id();

    /** The calibration text whose activations weigh the int4 search, or {@code null} (the default: none). */
    default Calibration calibration() {
        return null;
    }

    /**
     * This recipe with its int4 search weighted by the activations of {@code calibration}.
     *
     * @throws ConfigException for int8, whose scales have nothing to search, and round-to-nearest int4
     */
    default QuantRecipe withCalibration(Calibration calibration) {
        throw new ConfigException("--calibration applies to int4, whose search it weighs; " + id() + " has no search"
                + " to weigh. Drop --calibration, or use --dtype int4.");
    }

    /** Whether {@code lm_head.weight} is quantized too (when the model does not tie it to the embedding). */
    boolean quantizeLmHead();

    /**
     * Checks that a projection {@code tensor} of shape {@code [out, in]} can be quantized by this
     * recipe.
     *
     * @throws ConfigException naming the tensor, its shape, the dimension at fault and what to do
     */
    void checkShape(String tensor, long out, long in);

    /** {@code {"dtype":"int4","group_size":128,"quantize_lm_head":true}}, or for int8 without group_size. */
    JsonObject toJson();

    /**
     * The recipe that stores projections in {@code format}.
     *
     * @throws ConfigException for bf16, which is not quantized
     */
    static QuantRecipe of(WeightFormat format, boolean quantizeLmHead) {
        if (format instanceof WeightFormat.Int4 int4) {
            return new Int4WeightOnly(int4.groupSize(), quantizeLmHead);
        }
        if (format instanceof WeightFormat.Int4Q32) {
            return new Int4Q32WeightOnly(quantizeLmHead, Int4Search.DEFAULT);
        }
        if (format instanceof WeightFormat.Int8) {
            return new Int8WeightOnly(quantizeLmHead);
        }
        if (format instanceof WeightFormat.Int8G32) {
            return new Int8G32WeightOnly(quantizeLmHead);
        }
        throw new ConfigException(format.id() + " weights are not quantized: choose int8 or int4 to quantize");
    }

    /** The weight format the projections are stored in. */
    WeightFormat format();

    /**
     * The recipe a command line asks for.
     *
     * @param dtype {@code "int4"} or {@code "int8"} (case-insensitive)
     * @param groupSize int4 with bf16 scales in groups of 32, 64 or 128; {@code null} for int4-q32
     *     (groups of 32 with 8-bit scale and zero codes); with int8, {@code null} or 32 (a bf16 scale
     *     per group of 32)
     * @param keepLmHeadBf16 leave {@code lm_head.weight} in bf16
     * @throws ConfigException naming the value refused and the values accepted
     */
    static QuantRecipe parse(String dtype, Integer groupSize, boolean keepLmHeadBf16) {
        return parse(dtype, groupSize, keepLmHeadBf16, null);
    }

    /**
     * As {@link #parse(String, Integer, boolean)} with int4's search.
     *
     * @param search {@link Int4Search} for int4; {@code null} for {@link Int4Search#DEFAULT}, and
     *     must be {@code null} with int8 (which has no groups to search)
     */
    static QuantRecipe parse(String dtype, Integer groupSize, boolean keepLmHeadBf16, Int4Search search) {
        String d = dtype == null ? "" : dtype.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "int4":
                Int4Search s = search == null ? Int4Search.DEFAULT : search;
                return groupSize == null ? new Int4Q32WeightOnly(!keepLmHeadBf16, s)
                        : new Int4WeightOnly(groupSize, !keepLmHeadBf16, s);
            case "int8":
                if (search != null) {
                    throw new ConfigException("An int4 search (" + search + ") was given with int8, whose scale per"
                            + " group of 32 is searched near max|w| / 127. Drop it, or use int4.");
                }
                if (groupSize != null && groupSize != Int8G32WeightOnly.GROUP) {
                    throw new ConfigException("Group size " + groupSize + " was given with int8, whose scales are per"
                            + " group of " + Int8G32WeightOnly.GROUP + ". Drop the group size, or use int4 (group sizes "
                            + Int4WeightOnly.GROUP_SIZES_TEXT + ").");
                }
                return new Int8G32WeightOnly(!keepLmHeadBf16);
            default:
                throw new ConfigException("Unknown quantization dtype '" + dtype + "'. Choose int4 (groups of 32 with"
                        + " 8-bit scales, 4.5 bits a weight; or with --group-size " + Int4WeightOnly.GROUP_SIZES_TEXT
                        + " and bf16 scales) or int8 (a bf16 scale per group of 32, 8.5 bits a weight).");
        }
    }

    /**
     * Reads what {@link #toJson()} wrote. {@code quantize_lm_head} defaults to true.
     *
     * @throws ConfigException if a field is missing, of the wrong type or out of range, naming it
     */
    static QuantRecipe fromJson(JsonObject json) {
        if (json == null) {
            throw new ConfigException(FILE_NAME + " is empty: expected e.g. {\"dtype\":\"int4\",\"group_size\":128,"
                    + "\"quantize_lm_head\":true}. Quantize the model again.");
        }
        String dtype = string(json, "dtype");
        if (dtype == null) {
            throw new ConfigException(FILE_NAME + " has no \"dtype\" (got " + json + "): expected \"int4\" or \"int8\"."
                    + " Quantize the model again.");
        }
        Integer groupSize = null;
        JsonElement g = json.get("group_size");
        if (g != null && !g.isJsonNull()) {
            if (!g.isJsonPrimitive() || !g.getAsJsonPrimitive().isNumber()) {
                throw new ConfigException(FILE_NAME + ": \"group_size\" is " + g + ", not a number. Expected "
                        + Int4WeightOnly.GROUP_SIZES_TEXT + ". Quantize the model again.");
            }
            double v = g.getAsDouble();
            if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
                throw new ConfigException(FILE_NAME + ": \"group_size\" is " + g + ", not a whole number. Expected "
                        + Int4WeightOnly.GROUP_SIZES_TEXT + ". Quantize the model again.");
            }
            groupSize = (int) v;
        }
        boolean quantizeLmHead = true;
        JsonElement q = json.get("quantize_lm_head");
        if (q != null && !q.isJsonNull()) {
            if (!q.isJsonPrimitive() || !q.getAsJsonPrimitive().isBoolean()) {
                throw new ConfigException(FILE_NAME + ": \"quantize_lm_head\" is " + q + ", not true or false."
                        + " Quantize the model again.");
            }
            quantizeLmHead = q.getAsBoolean();
        }
        // Entries written before the search existed were rounded to nearest.
        String named = string(json, "search");
        String layout = string(json, "layout");
        try {
            Int4Search search = null;
            if ("int4".equals(dtype.trim().toLowerCase(Locale.ROOT))) {
                search = named == null ? Int4Search.NONE : Int4Search.parse(named);
                Calibration calibration = Calibration.fromJson(json.get("calibration"));
                if (Int4Q32WeightOnly.LAYOUT.equals(layout)) {
                    return new Int4Q32WeightOnly(quantizeLmHead, search, calibration);
                }
                if (layout != null) {
                    throw new ConfigException("\"layout\" is \"" + layout + "\": this woq knows \""
                            + Int4Q32WeightOnly.LAYOUT + "\" (or none, for bf16 scales). Quantize the model again,"
                            + " or use the woq that wrote it.");
                }
                // Before int4-q32, an int4 recipe always had bf16 scales and its group size.
                return new Int4WeightOnly(groupSize == null ? DEFAULT_GROUP_SIZE : groupSize, quantizeLmHead, search,
                        calibration);
            }
            if ("int8".equals(dtype.trim().toLowerCase(Locale.ROOT)) && groupSize == null) {
                // Before int8-g32, int8 had one scale per output channel and no group_size.
                return new Int8WeightOnly(quantizeLmHead);
            }
            return parse(dtype, groupSize, !quantizeLmHead, search);
        } catch (ConfigException e) {
            throw new ConfigException(FILE_NAME + ": " + e.getMessage());
        }
    }

    private static String string(JsonObject json, String key) {
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new ConfigException(FILE_NAME + ": \"" + key + "\" is " + e + ", not a string"
                    + (key.equals("dtype") ? ". Expected \"int4\" or \"int8\"." : ".") + " Quantize the model again.");
        }
        return e.getAsString();
    }
}
