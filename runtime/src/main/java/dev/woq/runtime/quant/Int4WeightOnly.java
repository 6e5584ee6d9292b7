package dev.woq.runtime.quant;

import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaWeights;

/**
 * Asymmetric int4, group-wise along the input dimension, as gpt-fast and torchao's {@code
 * int4_weight_only}: every {@code groupSize} consecutive inputs of an output row share a bf16 scale
 * and zero point. {@code search} chooses them: {@link Int4Search#MSE} (the default) searches the
 * range with the least squared error ({@link Int4MseSearch}), {@link Int4Search#NONE} rounds to
 * nearest over min/max ({@link WeightCodec#quantizeInt4Row}); the layout is the same. See the
 * package documentation for the on-disk layout.
 *
 * @param groupSize 32, 64 or 128
 * @param quantizeLmHead whether {@code lm_head.weight} is quantized too
 * @param search how each group's scale and zero are chosen
 * @param calibration the text whose activations weigh the search's errors, or {@code null} for none
 */
public record Int4WeightOnly(int groupSize, boolean quantizeLmHead, Int4Search search, Calibration calibration)
        implements QuantRecipe {
    static final String GROUP_SIZES_TEXT = WeightFormat.Int4.GROUP_SIZES_TEXT;

    /**
     * libtorch's int4 pack ({@code _convert_weight_to_int4pack_for_cpu}) takes output rows in blocks
     * of this many.
     */
    public static final int OUT_MULTIPLE = 16;

    public Int4WeightOnly {
        new WeightFormat.Int4(groupSize); // refuses a group size the kernels do not run
        java.util.Objects.requireNonNull(search, "search");
        requireSearchFor(calibration, search);
    }

    /** Without calibration. */
    public Int4WeightOnly(int groupSize, boolean quantizeLmHead, Int4Search search) {
        this(groupSize, quantizeLmHead, search, null);
    }

    @Override
    public QuantRecipe withCalibration(Calibration calibration) {
        return new Int4WeightOnly(groupSize, quantizeLmHead, search, calibration);
    }

    /** Calibration weighs the search's errors: round-to-nearest has none to weigh. */
    static void requireSearchFor(Calibration calibration, Int4Search search) {
        if (calibration != null && search != Int4Search.MSE) {
            throw new ConfigException("--calibration weighs the errors of int4's " + Int4Search.MSE + " search, and"
                    + " --int4-search " + search + " (round to nearest) searches nothing. Drop one of them.");
        }
    }

    /** Group size {@code groupSize}, the default search. */
    public Int4WeightOnly(int groupSize, boolean quantizeLmHead) {
        this(groupSize, quantizeLmHead, Int4Search.DEFAULT);
    }

    @Override
    public WeightFormat format() {
        return new WeightFormat.Int4(groupSize);
    }

    /** Group size {@code groupSize}, LM head quantized, the default search. */
    public Int4WeightOnly(int groupSize) {
        this(groupSize, true);
    }

    /**
     * {@code int4-g128} with the default search, {@code int4-g128-rtn} with round-to-nearest, {@code
     * int4-g128-cal} with calibration.
     */
    @Override
    public String id() {
        return "int4-g" + groupSize + (search == Int4Search.NONE ? "-rtn" : "") + (calibration != null ? "-cal" : "");
    }

    /** Quantizes one row with this recipe's search; arguments as {@link WeightCodec#quantizeInt4Row}. */
    public void quantizeRow(float[] row, int k, byte[] packed, int packedOffset, short[] scales, short[] zeros,
            int groupOffset) {
        quantizeRow(row, k, null, packed, packedOffset, scales, zeros, groupOffset);
    }

    /** As {@link #quantizeRow(float[], int, byte[], int, short[], short[], int)}, the search weighted by {@code importance}. */
    public void quantizeRow(float[] row, int k, float[] importance, byte[] packed, int packedOffset, short[] scales,
            short[] zeros, int groupOffset) {
        if (search == Int4Search.MSE) {
            Int4MseSearch.quantizeRow(row, k, groupSize, importance, packed, packedOffset, scales, zeros, groupOffset);
        } else {
            WeightCodec.quantizeInt4Row(row, k, groupSize, packed, packedOffset, scales, zeros, groupOffset);
        }
    }

    @Override
    public void checkShape(String tensor, long out, long in) {
        String what = "Cannot quantize '" + tensor + "' of shape [" + out + ", " + in + "] with " + id() + ": ";
        if (out <= 0 || in <= 0) {
            throw new ConfigException(what + "it is empty. Check the checkpoint.");
        }
        if (in % groupSize != 0) {
            throw new ConfigException(what + "its input dimension " + in + " is not a multiple of the group size "
                    + groupSize + ". Choose a group size that divides " + in + " (" + GROUP_SIZES_TEXT + "), or use int8.");
        }
        if (out % OUT_MULTIPLE != 0) {
            throw new ConfigException(what + "its output dimension " + out + " is not a multiple of " + OUT_MULTIPLE
                    + ", which libtorch's int4 kernel needs. Use int8"
                    + (tensor.equals(LlamaWeights.LM_HEAD) ? ", or keep the LM head in bf16." : "."));
        }
    }

    @Override
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("dtype", "int4");
        json.addProperty("group_size", groupSize);
        json.addProperty("quantize_lm_head", quantizeLmHead);
        json.addProperty("search", search.cliName());
        if (calibration != null) {
            json.add("calibration", calibration.toJson());
        }
        return json;
    }
}
