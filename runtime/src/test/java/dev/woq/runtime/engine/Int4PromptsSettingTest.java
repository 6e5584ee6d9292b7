package dev.woq.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.NativeKernels.Int4Prompts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** WOQ_INT4_PROMPTS (or -Dwoq.int4.prompts): the exact bf16 tile unless int8 is asked for and the CPU can. */
class Int4PromptsSettingTest {
    @AfterEach
    void clear() {
        System.clearProperty(NativeKernels.INT4_PROMPTS_PROPERTY);
    }

    @Test
    void unsetMeansTheExactBf16TileEvenWithVnni() {
        Assumptions.assumeTrue(System.getenv(NativeKernels.INT4_PROMPTS_SETTING) == null,
                NativeKernels.INT4_PROMPTS_SETTING + " is set in this environment");
        assertEquals(Int4Prompts.BF16_TILE, NativeKernels.int4Prompts(true));
        assertEquals(Int4Prompts.BF16_TILE, NativeKernels.int4Prompts(false));
    }

    @Test
    void int8SelectsDotProductsWhereTheCpuHasVnni() {
        System.setProperty(NativeKernels.INT4_PROMPTS_PROPERTY, " INT8 ");
        assertEquals(Int4Prompts.INT8_DOT, NativeKernels.int4Prompts(true));
    }

    @Test
    void int8WithoutVnniIsRefusedNamingWhatIsMissing() {
        System.setProperty(NativeKernels.INT4_PROMPTS_PROPERTY, "int8");
        WoqException e = assertThrows(WoqException.class, () -> NativeKernels.int4Prompts(false));
        assertTrue(e.getMessage().contains("AVX-512 VNNI"), e.getMessage());
    }

    @Test
    void anUnknownValueIsRefusedWithTheChoices() {
        System.setProperty(NativeKernels.INT4_PROMPTS_PROPERTY, "fast");
        WoqException e = assertThrows(WoqException.class, () -> NativeKernels.int4Prompts(true));
        assertTrue(e.getMessage().contains("WOQ_INT4_PROMPTS=fast") && e.getMessage().contains("bf16 or int8"),
                e.getMessage());
    }
}
