package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.woq.runtime.format.WeightFormat;
import org.junit.jupiter.api.Test;

/**
 * int4-q32 (groups of 32, 8-bit scale and zero codes, 4.5 bits) against the layouts with bf16
 * scales, in weight SQNR on the heavy-tailed matrices of {@link Int4MseSearchTest}. Measured when
 * written: q32 with the search 20.58 dB, q32 round-to-nearest 19.11 dB, int4-g32 with the search
 * (5 bits) 20.54 dB, int4-g128 round-to-nearest (the first int4 default) 14.08 dB.
 */
class Int4Q32CodecTest {
    static final int ROWS = Int4MseSearchTest.ROWS;
    static final int K = Int4MseSearchTest.K;

    @Test
    void searchAtFourAndAHalfBitsMatchesBf16ScalesInGroupsOf32() {
        float[] w = Int4MseSearchTest.heavyTailed(1);
        double q32 = Int4MseSearchTest.sqnr(w, roundTrip(w, Int4Search.MSE));
        double q32Rtn = Int4MseSearchTest.sqnr(w, roundTrip(w, Int4Search.NONE));
        double g32 = Int4MseSearchTest.sqnr(w, new Int4WeightOnly(32, true, Int4Search.MSE));
        double g128Rtn = Int4MseSearchTest.sqnr(w, new Int4WeightOnly(128, true, Int4Search.NONE));
        System.out.printf("SQNR: int4-q32 %.2f dB, int4-q32-rtn %.2f, int4-g32 (mse, 5 bits) %.2f, int4-g128-rtn %.2f%n",
                q32, q32Rtn, g32, g128Rtn);
        assertTrue(q32 >= g128Rtn + 4.5, "q32 " + q32 + " dB against int4-g128 round-to-nearest " + g128Rtn);
        assertTrue(q32 >= q32Rtn + 0.8, "q32 " + q32 + " dB against its own round-to-nearest " + q32Rtn);
        assertTrue(q32 >= g32 - 0.05, "q32 " + q32 + " dB against int4-g32 with bf16 scales " + g32);
    }

    @Test
    void searchNeverWorseThanRoundToNearestOnAnyGroup() {
        for (float[] w : new float[][] {Int4MseSearchTest.heavyTailed(2), Int4MseSearchTest.gaussian(3)}) {
            double[] rtn = groupErrors(w, roundTrip(w, Int4Search.NONE));
            double[] mse = groupErrors(w, roundTrip(w, Int4Search.MSE));
            for (int g = 0; g < rtn.length; g++) {
                int group = g;
                assertTrue(mse[g] <= rtn[g], () -> "group " + group + ": mse " + mse[group] + " > rtn " + rtn[group]);
            }
        }
    }

    @Test
    void roundToNearestSpansEveryGroupSoNoWeightIsClipped() {
        float[] w = Int4MseSearchTest.heavyTailed(4);
        float[] dq = roundTrip(w, Int4Search.NONE);
        for (int g = 0; g < w.length / 32; g++) {
            float scale = 0;
            float lo = 0;
            float hi = 0;
            for (int j = 0; j < 32; j++) {
                lo = Math.min(lo, w[g * 32 + j]);
                hi = Math.max(hi, w[g * 32 + j]);
            }
            scale = (hi - lo) / 15f;
            for (int j = 0; j < 32; j++) {
                int i = g * 32 + j;
                // Within half a step of its scale (at most 4.4 % above the range's), plus float rounding.
                assertTrue(Math.abs(w[i] - dq[i]) <= 0.5f * scale * 1.045f + 1e-7f, "weight " + i + ": " + w[i] + " -> " + dq[i]);
            }
        }
    }

    @Test
    void allZeroMatrixStaysZero() {
        float[] row = new float[K];
        byte[] packed = new byte[K / 2];
        byte[] s = new byte[K / 32];
        byte[] z = new byte[K / 32];
        float scaleMax = Int4Q32Codec.scaleBound(row, K);
        Int4Q32Codec.quantizeRow(row, K, scaleMax, Int4Search.MSE, packed, 0, s, z, 0);
        float[] out = new float[K];
        Int4Q32Codec.dequantizeRow(packed, 0, s, z, 0, scaleMax, K, out, 0);
        for (float v : out) {
            assertEquals(0f, v);
        }
    }

    @Test
    void recipeRoundTripsThroughItsJsonAndIsTheInt4Default() {
        QuantRecipe recipe = QuantRecipe.parse("int4", null, false);
        assertEquals(new Int4Q32WeightOnly(true, Int4Search.MSE), recipe);
        assertEquals(WeightFormat.INT4_Q32, recipe.format());
        assertEquals("int4-q32", recipe.id());
        assertEquals(recipe, QuantRecipe.fromJson(recipe.toJson()));
        QuantRecipe rtn = QuantRecipe.parse("int4", null, true, Int4Search.NONE);
        assertEquals("int4-q32-rtn", rtn.id());
        assertEquals(rtn, QuantRecipe.fromJson(rtn.toJson()));
        // An entry written before int4-q32: bf16 scales in groups of 128.
        assertEquals(new Int4WeightOnly(128, true, Int4Search.NONE),
                QuantRecipe.fromJson(JsonParser.parseString("{\"dtype\":\"int4\",\"group_size\":128}").getAsJsonObject()));
        assertEquals(4.5, recipe.format().bitsPerWeight());
    }

    /** Both passes of the quantizer over a [ROWS, K] matrix, then the weights the codes stand for. */
    static float[] roundTrip(float[] w, Int4Search search) {
        return roundTrip(w, search, null);
    }

    /** As {@link #roundTrip(float[], Int4Search)}, the search weighted by {@code importance} ({@code null}: not). */
    static float[] roundTrip(float[] w, Int4Search search, float[] importance) {
        float[] row = new float[K];
        float scaleMax = 0;
        for (int r = 0; r < ROWS; r++) {
            System.arraycopy(w, r * K, row, 0, K);
            scaleMax = Math.max(scaleMax, Int4Q32Codec.scaleBound(row, K));
        }
        int groups = K / 32;
        byte[] packed = new byte[ROWS * K / 2];
        byte[] s = new byte[ROWS * groups];
        byte[] z = new byte[ROWS * groups];
        float[] out = new float[w.length];
        for (int r = 0; r < ROWS; r++) {
            System.arraycopy(w, r * K, row, 0, K);
            Int4Q32Codec.quantizeRow(row, K, scaleMax, search, importance, packed, r * K / 2, s, z, r * groups);
            Int4Q32Codec.dequantizeRow(packed, r * K / 2, s, z, r * groups, scaleMax, K, out, r * K);
        }
        return out;
    }

    private static double[] groupErrors(float[] w, float[] dq) {
        double[] err = new double[w.length / 32];
        for (int i = 0; i < w.length; i++) {
            double d = w[i] - dq[i];
            err[i / 32] += d * d;
        }
        return err;
    }
}
