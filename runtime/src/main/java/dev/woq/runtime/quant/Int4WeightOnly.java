package dev.woq.runtime.quant;

import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaWeights;

/**
 * Asymmetric int4, group-wise along the input dimension, as gpt-fast and torchao's {@code
 * int4_weight_only}: every {@code groupSize} consecutive inputs of an output row share a bf16 scale
 * and zero point. See {@link WeightCodec#quantizeInt4Row} for the arithmetic and the package
 * documentation for the on-disk layout.
 *
 * @param groupSize 32, 64 or 128
 * @param quantizeLmHead whether {@code lm_head.weight} is quantized too
 */
public record Int4WeightOnly(int groupSize, boolean quantizeLmHead) implements QuantRecipe {
    static final String GROUP_SIZES_TEXT = WeightFormat.Int4.GROUP_SIZES_TEXT;

    /**
     * libtorch's int4 pack ({@code _convert_weight_to_int4pack_for_cpu}) takes output rows in blocks
     * of this many.
     */
    public static final int OUT_MULTIPLE = 16;

    public Int4WeightOnly {
        new WeightFormat.Int4(groupSize); // refuses a group size the kernels do not run
    }

    @Override
    public WeightFormat format() {
        return new WeightFormat.Int4(groupSize);
    }

    /** Group size {@code groupSize}, LM head quantized. */
    public Int4WeightOnly(int groupSize) {
        this(groupSize, true);
    }

    @Override
    public String id() {
        return "int4-g" + groupSize;
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
        return json;
    }
}
