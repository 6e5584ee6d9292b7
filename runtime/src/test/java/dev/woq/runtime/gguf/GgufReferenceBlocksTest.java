package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * woq's reader and dequantization against llama.cpp's own Python package: {@code
 * reference-blocks.gguf} was written by gguf-py's {@code GGUFWriter} with random blocks of every type
 * woq reads and, beside each, gguf-py's {@code dequantize()} of them as F32 (made by {@code
 * scripts/gguf-reference-blocks.py}, gguf 0.19.0).
 */
class GgufReferenceBlocksTest {
    static Path file() {
        try {
            return Path.of(GgufReferenceBlocksTest.class.getResource("/gguf/reference-blocks.gguf").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgufType.class, names = {"Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "F16"})
    void dequantizationMatchesGgufPy(GgufType type) {
        try (GgufReader r = GgufReader.open(file())) {
            assertEquals("llama", r.requireString(GgufKeys.ARCHITECTURE));
            GgufTensorInfo t = r.tensor(type.name()).orElseThrow();
            GgufTensorInfo e = r.tensor("expected." + type.name()).orElseThrow();
            assertEquals(type, t.type());
            assertEquals(List.of(512L, 3L), List.of(t.dims()[0], t.dims()[1]));
            float[] ours = GgufReader.dequantizeRows(t, r.data(t), 0, 3);
            float[] theirs = GgufReader.dequantizeRows(e, r.data(e), 0, 3);
            float max = 0;
            for (float v : theirs) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, "the reference values are not all zero");
            for (int i = 0; i < ours.length; i++) {
                // float32 in both; numpy may multiply in another order: a few ulps of the block's range
                assertEquals(theirs[i], ours[i], 4 * Math.ulp(max), type + " value " + i);
            }
        }
    }
}
