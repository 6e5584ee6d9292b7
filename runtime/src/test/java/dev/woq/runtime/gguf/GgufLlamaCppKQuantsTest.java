package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Files written by llama.cpp's own C++ tools from weights woq exported
 * ({@code scripts/gguf-llamacpp-kquants.sh}): {@code micro256-woq-bf16.gguf} is
 * {@code woq export} of a micro Llama whose rows are 256 values (what K-quants need), and the
 * Q4_K_M, Q5_K_M and Q6_K files are llama.cpp's {@code llama-quantize} of it. Reading them checks
 * woq's K-quant dequantization against llama.cpp's own quantizer, and that llama.cpp took woq's
 * export as it is.
 */
class GgufLlamaCppKQuantsTest {
    @TempDir
    static Path tmp;

    private static float[] bf16Logits;

    @BeforeAll
    static void importWoqsExport() {
        bf16Logits = GgufLlamaCppFilesTest.logits(importFile("micro256-woq-bf16.gguf"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // file, the K type llama-quantize used for most projections, least weight SQNR (dB), least
        // logits cosine. Measured: 22.9 dB and 0.927, 28.8 dB and 0.986, 35.0 dB and 0.991 (this
        // random micro model is sharp: the micro Q4_0 file's 22.6 dB gave 0.964, Q8_0's 46.7 dB 0.9997).
        "micro256-q4_k_m.gguf, Q4_K, 20, 0.9",
        "micro256-q5_k_m.gguf, Q5_K, 26, 0.97",
        "micro256-q6_k.gguf, Q6_K, 32, 0.98"})
    void llamaCppKQuantsDequantizeAndRunWithinTheirFormatsError(String file, GgufType type, double minDb,
            double minCosine) {
        Sqnr sqnr = new Sqnr();
        Set<GgufType> seen = EnumSet.noneOf(GgufType.class);
        try (GgufReader bf16 = GgufReader.open(GgufLlamaCppFilesTest.resource("micro256-woq-bf16.gguf"));
                GgufReader q = GgufReader.open(GgufLlamaCppFilesTest.resource(file))) {
            for (GgufTensorInfo t : q.tensors()) {
                seen.add(t.type());
                if (t.type() != type) {
                    continue;
                }
                GgufTensorInfo src = bf16.tensor(t.name()).orElseThrow();
                int rows = (int) src.rows();
                float[] want = GgufReader.dequantizeRows(src, bf16.data(src), 0, rows);
                float[] got = GgufReader.dequantizeRows(t, q.data(t), 0, rows);
                assertEquals(want.length, got.length, t.name());
                sqnr.add(want, got, want.length);
                sqnr.countTensor();
            }
        }
        assertTrue(seen.contains(type), file + " holds " + seen + ", no " + type);
        assertTrue(sqnr.tensors() >= 3, file + ": only " + sqnr.tensors() + " " + type + " tensors");
        assertTrue(sqnr.db() >= minDb && sqnr.db() < 60, file + ": " + type + " weights at " + sqnr);

        double cos = GgufLlamaCppFilesTest.cosine(bf16Logits, GgufLlamaCppFilesTest.logits(importFile(file)));
        assertTrue(cos >= minCosine && cos < 1, file + ": logits cosine " + cos + " to woq's bf16 export");
    }

    @Test
    void moreBitsGiveLessWeightError() {
        double q4 = weightSqnr("micro256-q4_k_m.gguf", GgufType.Q4_K);
        double q5 = weightSqnr("micro256-q5_k_m.gguf", GgufType.Q5_K);
        double q6 = weightSqnr("micro256-q6_k.gguf", GgufType.Q6_K);
        // Each extra bit of a uniform quantizer buys about 6 dB.
        assertTrue(q5 > q4 + 4 && q6 > q5 + 4, "Q4_K " + q4 + ", Q5_K " + q5 + ", Q6_K " + q6 + " dB");
    }

    private static double weightSqnr(String file, GgufType type) {
        Sqnr sqnr = new Sqnr();
        try (GgufReader bf16 = GgufReader.open(GgufLlamaCppFilesTest.resource("micro256-woq-bf16.gguf"));
                GgufReader q = GgufReader.open(GgufLlamaCppFilesTest.resource(file))) {
            for (GgufTensorInfo t : q.tensors()) {
                if (t.type() == type) {
                    GgufTensorInfo src = bf16.tensor(t.name()).orElseThrow();
                    int rows = (int) src.rows();
                    float[] want = GgufReader.dequantizeRows(src, bf16.data(src), 0, rows);
                    sqnr.add(want, GgufReader.dequantizeRows(t, q.data(t), 0, rows), want.length);
                }
            }
        }
        return sqnr.db();
    }

    private static Path importFile(String name) {
        Path dir = tmp.resolve(name.replace(".gguf", ""));
        LlamaGgufImporter.Report r =
                LlamaGgufImporter.importTo(GgufLlamaCppFilesTest.resource(name), dir, false, (a, b) -> {});
        assertEquals(256, r.config().hiddenSize());
        assertEquals(1, r.config().numLayers());
        return dir;
    }
}
