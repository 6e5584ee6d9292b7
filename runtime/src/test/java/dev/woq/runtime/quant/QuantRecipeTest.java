package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class QuantRecipeTest {

    @Test
    void parseDefaultsToInt4Q32AndInt8G32AndQuantizesTheLmHead() {
        assertEquals(new Int4Q32WeightOnly(true, Int4Search.MSE), QuantRecipe.parse("int4", null, false));
        assertEquals(new Int4WeightOnly(128, true), QuantRecipe.parse("int4", 128, false));
        assertEquals(new Int4WeightOnly(64, true), QuantRecipe.parse("INT4", 64, false));
        assertEquals(new Int4WeightOnly(32, false), QuantRecipe.parse("int4", 32, true));
        assertEquals(new Int8G32WeightOnly(true), QuantRecipe.parse("int8", null, false));
        assertEquals(new Int8G32WeightOnly(false), QuantRecipe.parse("int8", 32, true));
        assertEquals("int4-q32", QuantRecipe.parse("int4", null, false).id());
        assertEquals("int8-g32", QuantRecipe.parse("int8", null, false).id());
    }

    @Test
    void parseRefusesOtherGroupSizesAndAGroupSizeWithInt8NamingTheValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> QuantRecipe.parse("int4", 256, false));
        assertTrue(e.getMessage().contains("256") && e.getMessage().contains("32, 64 or 128"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> QuantRecipe.parse("int4", 0, false));
        assertTrue(e.getMessage().contains("group size 0"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> QuantRecipe.parse("int8", 128, false));
        assertTrue(e.getMessage().contains("128") && e.getMessage().contains("int8"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> QuantRecipe.parse("int3", null, false));
        assertTrue(e.getMessage().contains("'int3'"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("dev.woq.runtime.quant.Recipes#all")
    void jsonRoundTrips(QuantRecipe recipe) {
        assertEquals(recipe, QuantRecipe.fromJson(recipe.toJson()));
        QuantRecipe kept = QuantRecipe.parse(recipe instanceof Int4WeightOnly ? "int4" : "int8",
                recipe instanceof Int4WeightOnly r4 ? r4.groupSize() : null, true);
        assertFalse(kept.quantizeLmHead());
        assertEquals(kept, QuantRecipe.fromJson(kept.toJson()));
    }

    @Test
    void jsonHasTheDocumentedFields() {
        assertEquals(JsonParser.parseString(
                "{\"dtype\":\"int4\",\"group_size\":128,\"quantize_lm_head\":true,\"search\":\"mse\"}"),
                new Int4WeightOnly(128).toJson());
        assertEquals(JsonParser.parseString("{\"dtype\":\"int8\",\"quantize_lm_head\":false}"),
                new Int8WeightOnly(false).toJson());
        assertEquals(new Int8WeightOnly(true), QuantRecipe.fromJson(
                JsonParser.parseString("{\"dtype\":\"int8\"}").getAsJsonObject()));
    }

    @Test
    void int4SearchDefaultsToMseAndIsNamedInTheEntryName() {
        Int4WeightOnly mse = (Int4WeightOnly) QuantRecipe.parse("int4", 128, false);
        assertEquals(Int4Search.MSE, mse.search());
        assertEquals("int4-g128", mse.id());
        QuantRecipe rtn = QuantRecipe.parse("int4", 32, false, Int4Search.NONE);
        assertEquals("int4-g32-rtn", rtn.id());
        assertEquals(rtn, QuantRecipe.fromJson(rtn.toJson()));
        // Entries written before the search existed were rounded to nearest.
        assertEquals(Recipes.rtn(128), QuantRecipe.fromJson(JsonParser.parseString(
                "{\"dtype\":\"int4\",\"group_size\":128,\"quantize_lm_head\":true}").getAsJsonObject()));
        ConfigException e = assertThrows(ConfigException.class,
                () -> QuantRecipe.parse("int8", null, false, Int4Search.MSE));
        assertTrue(e.getMessage().contains("int8"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> QuantRecipe.fromJson(JsonParser.parseString(
                "{\"dtype\":\"int4\",\"group_size\":128,\"search\":\"gptq\"}").getAsJsonObject()));
        assertTrue(e.getMessage().contains(QuantRecipe.FILE_NAME) && e.getMessage().contains("'gptq'"), e.getMessage());
    }

    @Test
    void fromJsonRefusesBadFieldsNamingThem() {
        for (String json : new String[] {
            "{}", "{\"dtype\":4}", "{\"dtype\":\"int4\",\"group_size\":\"128\"}", "{\"dtype\":\"int4\",\"group_size\":100}",
            "{\"dtype\":\"int4\",\"group_size\":64.5}", "{\"dtype\":\"int8\",\"group_size\":128}",
            "{\"dtype\":\"int4\",\"quantize_lm_head\":\"yes\"}",
        }) {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            ConfigException e = assertThrows(ConfigException.class, () -> QuantRecipe.fromJson(o), json);
            assertTrue(e.getMessage().contains(QuantRecipe.FILE_NAME), e.getMessage());
        }
    }

    @Test
    void checkShapeNamesTheTensorShapeAndRequirement() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new Int4WeightOnly(128).checkShape("model.layers.3.mlp.down_proj.weight", 4096, 14400));
        assertTrue(e.getMessage().contains("'model.layers.3.mlp.down_proj.weight'")
                && e.getMessage().contains("[4096, 14400]") && e.getMessage().contains("group size 128"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new Int4WeightOnly(32).checkShape("lm_head.weight", 128250, 4096));
        assertTrue(e.getMessage().contains("[128250, 4096]") && e.getMessage().contains("16")
                && e.getMessage().contains("keep the LM head in bf16"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new Int8WeightOnly().checkShape("x.weight", 64, 40));
        assertTrue(e.getMessage().contains("'x.weight'") && e.getMessage().contains("[64, 40]"), e.getMessage());
        new Int4WeightOnly(128).checkShape("ok", 14336, 4096);
        new Int4WeightOnly(32).checkShape("ok", 128256, 4096);
        new Int8WeightOnly().checkShape("ok", 1024, 4096);
    }
}
