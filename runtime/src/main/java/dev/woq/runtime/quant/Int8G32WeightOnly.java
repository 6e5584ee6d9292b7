package dev.woq.runtime.quant;

import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;

/**
 * Symmetric int8 with a bf16 scale per group of 32 inputs ({@link WeightFormat.Int8G32}, 8.5 bits a
 * weight): what {@code --dtype int8} makes. Each group's scale is the bf16 value near
 * {@code max|w| / 127} with the least squared error ({@link #quantizeRow}).
 *
 * @param quantizeLmHead whether {@code lm_head.weight} is quantized too
 */
public record Int8G32WeightOnly(boolean quantizeLmHead) implements QuantRecipe {
    static final int GROUP = WeightFormat.Int8G32.GROUP_SIZE;
    /**
     * bf16 steps tried below {@code max|w| / 127}'s nearest (a bf16 step is 0.4-0.8 %): a smaller
     * scale clips the group's largest weight a little and gives every other weight finer steps.
     */
    static final int SCALE_STEPS_DOWN = 4;

    @Override
    public WeightFormat format() {
        return WeightFormat.INT8_G32;
    }

    @Override
    public String id() {
        return WeightFormat.INT8_G32.id();
    }

    @Override
    public void checkShape(String tensor, long out, long in) {
        String what = "Cannot quantize '" + tensor + "' of shape [" + out + ", " + in + "] with " + id() + ": ";
        if (out <= 0 || in <= 0) {
            throw new ConfigException(what + "it is empty. Check the checkpoint.");
        }
        if (in % GROUP != 0) {
            throw new ConfigException(what + "its input dimension " + in + " is not a multiple of " + GROUP
                    + ", the group of one scale. Run this model in bf16, or try int4 --group-size 32.");
        }
    }

    /** {@code {"dtype":"int8","group_size":32,"bits_per_weight":8.5,"quantize_lm_head":true}}. */
    @Override
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("dtype", "int8");
        json.addProperty("group_size", GROUP);
        json.addProperty("bits_per_weight", WeightFormat.INT8_G32.bitsPerWeight());
        json.addProperty("quantize_lm_head", quantizeLmHead);
        return json;
    }

    /**
     * Codes one row of {@code k} weights into {@code q} from {@code qOffset}, its groups' bf16 scales
     * into {@code scales} from {@code groupOffset}: per group, the scale among {@code max|w| / 127}
     * rounded to bf16 and the {@link #SCALE_STEPS_DOWN} bf16 values below it whose codes (rounded to
     * nearest, clamped to -128..127) have the least squared error.
     */
    public static void quantizeRow(float[] row, int k, byte[] q, int qOffset, short[] scales, int groupOffset) {
        for (int g = 0; g < k / GROUP; g++) {
            int base = g * GROUP;
            float amax = 0;
            for (int j = 0; j < GROUP; j++) {
                amax = Math.max(amax, Math.abs(row[base + j]));
            }
            short first = WeightCodec.toBf16(amax / 127f);
            if (amax == 0 || WeightCodec.bf16ToFloat(first) == 0) {
                first = WeightCodec.INT8_ZERO_SCALE; // as per channel: a subnormal group codes to zeros
            }
            short best = first;
            double bestErr = Double.POSITIVE_INFINITY;
            for (int step = 0; step <= SCALE_STEPS_DOWN; step++) {
                short candidate = (short) (first - step); // positive bf16: one step down is one less
                float scale = WeightCodec.bf16ToFloat(candidate);
                if (!(scale > 0)) {
                    break;
                }
                double err = 0;
                for (int j = 0; j < GROUP; j++) {
                    float w = row[base + j];
                    int c = Math.max(-128, Math.min(127, (int) Math.rint(w / scale)));
                    double d = w - c * scale;
                    err += d * d;
                }
                if (err < bestErr) {
                    bestErr = err;
                    best = candidate;
                }
            }
            float scale = WeightCodec.bf16ToFloat(best);
            for (int j = 0; j < GROUP; j++) {
                int c = (int) Math.rint(row[base + j] / scale);
                q[qOffset + base + j] = (byte) Math.max(-128, Math.min(127, c));
            }
            scales[groupOffset + g] = best;
        }
    }

    /** Weights of one coded row: {@code out[outOffset + i] = q[i] * scale[group of i]}. */
    public static void dequantizeRow(byte[] q, int qOffset, short[] scales, int groupOffset, int k, float[] out,
            int outOffset) {
        for (int i = 0; i < k; i++) {
            out[outOffset + i] = q[qOffset + i] * WeightCodec.bf16ToFloat(scales[groupOffset + i / GROUP]);
        }
    }
}
