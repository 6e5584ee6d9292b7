package dev.woq.runtime.quant;

import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;

/**
 * Symmetric int8 with one bf16 scale per output channel. See {@link WeightCodec#quantizeInt8Row}
 * for the arithmetic and the package documentation for the on-disk layout.
 *
 * @param quantizeLmHead whether {@code lm_head.weight} is quantized too
 */
public record Int8WeightOnly(boolean quantizeLmHead) implements QuantRecipe {
    /** The AVX-512 int8 kernel consumes the input dimension in blocks of this many. */
    public static final int IN_MULTIPLE = 16;

    /** LM head quantized. */
    public Int8WeightOnly() {
        this(true);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT8;
    }

    @Override
    public String id() {
        return "int8";
    }

    @Override
    public void checkShape(String tensor, long out, long in) {
        String what = "Cannot quantize '" + tensor + "' of shape [" + out + ", " + in + "] with int8: ";
        if (out <= 0 || in <= 0) {
            throw new ConfigException(what + "it is empty. Check the checkpoint.");
        }
        if (in % IN_MULTIPLE != 0) {
            throw new ConfigException(what + "its input dimension " + in + " is not a multiple of " + IN_MULTIPLE
                    + ", which the int8 kernel needs. This model cannot be quantized to int8: run it in bf16, or try int4.");
        }
    }

    @Override
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("dtype", "int8");
        json.addProperty("quantize_lm_head", quantizeLmHead);
        return json;
    }
}
