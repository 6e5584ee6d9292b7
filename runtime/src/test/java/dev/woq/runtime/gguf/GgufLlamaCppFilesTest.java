package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaModel;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * GGUF files written by llama.cpp's own Python package (gguf-py 0.19.0; {@code
 * scripts/gguf-micro-llama.py}): a micro Llama in bf16 and, from the same weights, quantized by
 * gguf-py's Q8_0, Q4_0 and Q4_1 quantizers. woq's quantizers must write the same bytes, and woq's
 * import of each file must run with logits within the format's own error of the bf16 file's.
 */
class GgufLlamaCppFilesTest {
    static final int[] PROMPT = {257, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33};

    @TempDir
    static Path tmp;

    private static float[] bf16Logits;

    static Path resource(String name) {
        try {
            return Path.of(GgufLlamaCppFilesTest.class.getResource("/gguf/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void importBf16() {
        bf16Logits = logits(importFile("micro-bf16.gguf"));
    }

    private static Path importFile(String name) {
        Path dir = tmp.resolve(name.replace(".gguf", ""));
        LlamaGgufImporter.Report r = LlamaGgufImporter.importTo(resource(name), dir, false, (a, b) -> {});
        LlamaConfig c = r.config();
        assertEquals(128, c.hiddenSize());
        assertEquals(2, c.numKvHeads());
        assertEquals(384, c.vocabSize());
        assertEquals(257, c.bosTokenId());
        return dir;
    }

    @ParameterizedTest
    @EnumSource(value = GgufType.class, names = {"Q8_0", "Q4_0"})
    void woqQuantizersWriteLlamaCppsBytes(GgufType type) {
        try (GgufReader bf16 = GgufReader.open(resource("micro-bf16.gguf"));
                GgufReader q = GgufReader.open(resource("micro-" + type.name().toLowerCase() + ".gguf"))) {
            int compared = 0;
            for (GgufTensorInfo t : q.tensors()) {
                if (t.type() != type) {
                    continue;
                }
                GgufTensorInfo src = bf16.tensor(t.name()).orElseThrow();
                int rows = (int) src.rows();
                int k = (int) src.rowLength();
                float[] x = GgufReader.dequantizeRows(src, bf16.data(src), 0, rows);
                ByteBuffer ours = ByteBuffer.allocate((int) t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
                type.quantize(x, 0, rows * k, ours, 0);
                assertEquals(q.data(t), ours, t.name() + ": woq's " + type + " bytes differ from gguf-py's");
                compared++;
            }
            assertEquals(15, compared, "14 projections and the output");
        }
    }

    @Test
    void llamaCppQuantizedFilesImportWithinTheirFormatsError() {
        // Cosine to the bf16 file's logits. The formats' own weight error on these weights (gguf-py's
        // dequantize against the bf16 values): Q8_0 46.7 dB, Q4_0 22.6 dB, Q4_1 23.4 dB; through this
        // sharp random model that gave cosines 0.9997, 0.964 and 0.939.
        for (Map.Entry<String, Double> e : Map.of("micro-q8_0.gguf", 0.999, "micro-q4_0.gguf", 0.9,
                "micro-q4_1.gguf", 0.9).entrySet()) {
            float[] l = logits(importFile(e.getKey()));
            double cos = cosine(bf16Logits, l);
            assertTrue(cos >= e.getValue() && cos < 1, e.getKey() + ": cosine " + cos + " to bf16");
        }
    }

    static float[] logits(Path model) {
        try (LlamaModel m = LlamaModel.load(TorchRuntime.start(2), model);
                InferenceSession s = m.newSession(PROMPT.length)) {
            return s.prefill(PROMPT);
        }
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
