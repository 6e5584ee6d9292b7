package dev.woq.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.NativeKernels.Int4Activations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** WOQ_INT4_ACTIVATIONS (or -Dwoq.int4.activations): int8 where the CPU has VNNI, bf16 elsewhere or when asked for. */
class Int4ActivationsSettingTest {
    @AfterEach
    void clear() {
        System.clearProperty(NativeKernels.INT4_ACTIVATIONS_PROPERTY);
    }

    @Test
    void unsetMeansInt8WithVnniAndBf16Without() {
        Assumptions.assumeTrue(System.getenv(NativeKernels.INT4_ACTIVATIONS_SETTING) == null,
                NativeKernels.INT4_ACTIVATIONS_SETTING + " is set in this environment");
        assertEquals(Int4Activations.INT8, NativeKernels.int4Activations(true));
        assertEquals(Int4Activations.BF16, NativeKernels.int4Activations(false));
    }

    @Test
    void int8SelectsDotProductsWhereTheCpuHasVnni() {
        System.setProperty(NativeKernels.INT4_ACTIVATIONS_PROPERTY, " INT8 ");
        assertEquals(Int4Activations.INT8, NativeKernels.int4Activations(true));
    }

    @Test
    void bf16KeepsTheExactProductsEvenWithVnni() {
        System.setProperty(NativeKernels.INT4_ACTIVATIONS_PROPERTY, "bf16");
        assertEquals(Int4Activations.BF16, NativeKernels.int4Activations(true));
    }

    @Test
    void int8WithoutVnniIsRefusedNamingWhatIsMissing() {
        System.setProperty(NativeKernels.INT4_ACTIVATIONS_PROPERTY, "int8");
        WoqException e = assertThrows(WoqException.class, () -> NativeKernels.int4Activations(false));
        assertTrue(e.getMessage().contains("AVX-512 VNNI"), e.getMessage());
    }

    @Test
    void anUnknownValueIsRefusedWithTheChoices() {
        System.setProperty(NativeKernels.INT4_ACTIVATIONS_PROPERTY, "fast");
        WoqException e = assertThrows(WoqException.class, () -> NativeKernels.int4Activations(true));
        assertTrue(e.getMessage().contains("WOQ_INT4_ACTIVATIONS=fast") && e.getMessage().contains("bf16 or int8"),
                e.getMessage());
    }
}
