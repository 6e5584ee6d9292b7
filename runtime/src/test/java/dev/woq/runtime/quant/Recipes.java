package dev.woq.runtime.quant;

import java.util.stream.Stream;


final class Recipes {
    private Recipes() {}

    static Stream<QuantRecipe> all() {
        return Stream.of(rtn(32), rtn(64), rtn(128), new Int8WeightOnly());
    }

    static Int4WeightOnly rtn(int groupSize) {
        return new Int4WeightOnly(groupSize, true, Int4Search.NONE);
    }

    /**
     * The analytic error bound of one dequantized value, as documented on {@link WeightCodec}: half
     * a step, plus for int4 what bf16 rounding of scale and zero can cost at a clamped end, {@code
     * (|zero| + 16 * scale) / 256}, plus float arithmetic slack of 2^-20 of the magnitudes involved.
     */
    static double bound(QuantRecipe recipe, float w, float scale, float zero) {
        double floatSlack = 0x1p-20 * (Math.abs(w) + Math.abs(zero) + scale);
        if (recipe instanceof Int4WeightOnly) {
            return scale / 2.0 + (Math.abs(zero) + 16.0 * scale) / 256.0 + floatSlack;
        }
        return scale / 2.0 + floatSlack;
    }
}
