package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.ConfigException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Out-of-range generation settings are refused with the option's name and the value given. */
class GenerationConfigTest {

    private static GenerationConfig config(int maxNewTokens, double temperature, int topK, double topP, double penalty) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, penalty, 0, Set.of());
    }

    private static void assertRefused(String option, String value, Executable build) {
        ConfigException e = assertThrows(ConfigException.class, build);
        assertTrue(e.getMessage().contains(option), "message does not name " + option + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(value), "message does not show the value " + value + ": " + e.getMessage());
    }

    @Test
    void maxNewTokensBelowOneIsRefused() {
        assertRefused("max-new-tokens", "0", () -> config(0, 0, 0, 1, 1));
        assertRefused("max-new-tokens", "-5", () -> config(-5, 0, 0, 1, 1));
    }

    @Test
    void negativeNanOrInfiniteTemperatureIsRefused() {
        assertRefused("temperature", "-1", () -> config(8, -1, 0, 1, 1));
        assertRefused("temperature", "NaN", () -> config(8, Double.NaN, 0, 1, 1));
        assertRefused("temperature", "Infinity", () -> config(8, Double.POSITIVE_INFINITY, 0, 1, 1));
    }

    @Test
    void topPOutsideZeroToOneIsRefused() {
        assertRefused("top-p", "0.0", () -> config(8, 1, 0, 0, 1));
        assertRefused("top-p", "1.5", () -> config(8, 1, 0, 1.5, 1));
        assertRefused("top-p", "-0.5", () -> config(8, 1, 0, -0.5, 1));
        assertRefused("top-p", "NaN", () -> config(8, 1, 0, Double.NaN, 1));
    }

    @Test
    void negativeTopKIsRefused() {
        assertRefused("top-k", "-1", () -> config(8, 1, -1, 1, 1));
    }

    @Test
    void nonPositiveOrNonFiniteRepetitionPenaltyIsRefused() {
        assertRefused("repetition-penalty", "0.0", () -> config(8, 1, 0, 1, 0));
        assertRefused("repetition-penalty", "-1.1", () -> config(8, 1, 0, 1, -1.1));
        assertRefused("repetition-penalty", "NaN", () -> config(8, 1, 0, 1, Double.NaN));
        assertRefused("repetition-penalty", "Infinity", () -> config(8, 1, 0, 1, Double.POSITIVE_INFINITY));
    }

    @Test
    void boundaryValuesAreAccepted() {
        assertDoesNotThrow(() -> config(1, 0, 0, 1, 1));
        assertDoesNotThrow(() -> config(1, 1e-6, 1, 1e-9, 1e-3));
        assertDoesNotThrow(() -> config(Integer.MAX_VALUE, 100, Integer.MAX_VALUE, 1, 50));
    }

    @Test
    void temperatureZeroIsGreedy() {
        assertTrue(config(4, 0, 0, 1, 1).isGreedy());
        assertEquals(false, config(4, 0.7, 0, 1, 1).isGreedy());
        GenerationConfig greedy = GenerationConfig.greedy(9, Set.of(7));
        assertTrue(greedy.isGreedy());
        assertEquals(9, greedy.maxNewTokens());
        assertEquals(Set.of(7), greedy.stopTokenIds());
    }

    @Test
    void stopTokenIdsAreCopiedNotShared() {
        Set<Integer> ids = new HashSet<>(Set.of(1, 2));
        GenerationConfig config = new GenerationConfig(4, 0, 0, 1, 1, 0, ids);
        ids.add(3);
        assertEquals(Set.of(1, 2), config.stopTokenIds());
        assertThrows(UnsupportedOperationException.class, () -> config.stopTokenIds().add(4));
    }
}
