package dev.woq.runtime.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticPresetTest {
    @Test
    void llama32OneBHasItsReleaseShapeAndReadsBackFromConfigJson() {
        LlamaConfig c = SyntheticPreset.parse("llama3.2-1b").config();
        assertEquals(c, LlamaConfig.parse(JsonParser.parseString(c.toJson()).getAsJsonObject()));
        assertTrue(c.tieWordEmbeddings());
        assertEquals(new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        long params = LlamaWeights.entries(c).stream().mapToLong(e -> Arrays.stream(e.shape()).reduce(1, (a, b) -> a * b)).sum();
        assertEquals(1_235_814_400L, params); // Llama-3.2-1B's parameter count: no separate LM head
    }

    @Test
    void llama2SevenBHasItsReleaseShape() {
        LlamaConfig c = SyntheticPreset.parse("llama2-7b").config();
        assertEquals(c, LlamaConfig.parse(JsonParser.parseString(c.toJson()).getAsJsonObject()));
        assertEquals(c.numHeads(), c.numKvHeads());
        assertEquals(10000.0, c.ropeTheta());
        long params = LlamaWeights.entries(c).stream().mapToLong(e -> Arrays.stream(e.shape()).reduce(1, (a, b) -> a * b)).sum();
        assertEquals(6_738_415_616L, params); // Llama-2-7b's parameter count
    }
}
