package dev.woq.runtime.quant;

import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaWeights;

/**
 * int4 in groups of 32 with 8-bit scale and zero codes ({@link WeightFormat.Int4Q32}, 4.5 bits a
 * weight), coded by {@link Int4Q32Codec}: what {@code --dtype int4} makes when no group size is given.
 *
 * @param quantizeLmHead whether {@code lm_head.weight} is quantized too
 * @param search how each group's codes are chosen: {@link Int4Search#MSE}, or round-to-nearest
 * @param calibration the text whose activations weigh the search's errors, or {@code null} for none
 */
public record Int4Q32WeightOnly(boolean quantizeLmHead, Int4Search search, Calibration calibration)
        implements QuantRecipe {
    /** The kernels read 128 inputs at a time. */
    static final int IN_MULTIPLE = 128;

    public Int4Q32WeightOnly {
        java.util.Objects.requireNonNull(search, "search");
        Int4WeightOnly.requireSearchFor(calibration, search);
    }

    /** Without calibration. */
    public Int4Q32WeightOnly(boolean quantizeLmHead, Int4Search search) {
        this(quantizeLmHead, search, null);
    }

    @Override
    public QuantRecipe withCalibration(Calibration calibration) {
        return new Int4Q32WeightOnly(quantizeLmHead, search, calibration);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT4_Q32;
    }

    /** {@code int4-q32}, {@code int4-q32-rtn} with round-to-nearest, {@code int4-q32-cal} with calibration. */
    @Override
    public String id() {
        return WeightFormat.INT4_Q32.id() + (search == Int4Search.NONE ? "-rtn" : "") + (calibration != null ? "-cal" : "");
    }

    @Override
    public void checkShape(String tensor, long out, long in) {
        String what = "Cannot quantize '" + tensor + "' of shape [" + out + ", " + in + "] with " + id() + ": ";
        if (out <= 0 || in <= 0) {
            throw new ConfigException(what + "it is empty. Check the checkpoint.");
        }
        if (in % IN_MULTIPLE != 0) {
            throw new ConfigException(what + "its input dimension " + in + " is not a multiple of " + IN_MULTIPLE
                    + ", which the int4-q32 kernels read at a time. Use --group-size 32, 64 or 128, or int8"
                    + (tensor.equals(LlamaWeights.LM_HEAD) ? ", or keep the LM head in bf16." : "."));
        }
        if (out % Int4WeightOnly.OUT_MULTIPLE != 0) {
            throw new ConfigException(what + "its output dimension " + out + " is not a multiple of "
                    + Int4WeightOnly.OUT_MULTIPLE + ", which libtorch's int4 kernel (the fallback without woq's"
                    + " kernels) needs. Use int8" + (tensor.equals(LlamaWeights.LM_HEAD) ? ", or keep the LM head in bf16." : "."));
        }
    }

    /**
     * {@code {"dtype":"int4","layout":"q32","group_size":32,"scale_bits":8,"zero_bits":8,
     * "bits_per_weight":4.5,"search":"mse","quantize_lm_head":true}}, with {@code "calibration"}
     * ({@link Calibration#toJson()}) when calibrated.
     */
    @Override
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("dtype", "int4");
        json.addProperty("layout", LAYOUT);
        json.addProperty("group_size", WeightFormat.Int4Q32.GROUP_SIZE);
        json.addProperty("scale_bits", 8);
        json.addProperty("zero_bits", 8);
        json.addProperty("bits_per_weight", WeightFormat.INT4_Q32.bitsPerWeight());
        json.addProperty("quantize_lm_head", quantizeLmHead);
        json.addProperty("search", search.cliName());
        if (calibration != null) {
            json.add("calibration", calibration.toJson());
        }
        return json;
    }

    /** What {@code "layout"} says in {@code woq_quantization.json}. */
    static final String LAYOUT = "q32";
}
