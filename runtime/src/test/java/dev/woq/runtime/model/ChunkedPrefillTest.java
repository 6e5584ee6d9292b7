package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.Int4Search;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.util.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A prompt prefilled in one pass, in chunks (whose queries start after cached keys) and token by
 * token gives the same logits in every weight format, and an 8,192-token prompt is prefilled
 * without the [t, pos + t] attention matrix that one pass used to build.
 */
class ChunkedPrefillTest {
    @TempDir
    static Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bf16", "int8", "int4-rtn", "int4"})
    void onePassChunksAndSingleTokensGiveTheSameLogits(String format) throws IOException {
        int[] prompt = randomPrompt(70, 1);
        // int4 prompts of 9 tokens or more run on the blocked kernel, which rounds each dequantized
        // weight to bf16; shorter chunks and single tokens run on the decode kernel, which applies
        // scale and zero in fp32. On round-to-nearest weights the two agree like the other formats;
        // on the default MSE-searched ones the rounding shows (0.99987 measured for chunks of 16,
        // and this near-flat random model's top token can flip), so only the cosine is bounded there.
        boolean searched = format.equals("int4");
        double least = searched ? 0.9998 : 0.9999;
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), checkpoint(format))) {
            float[] onePass = prefill(model, prompt, prompt.length);
            // 16 splits evenly into whole chunks plus a tail of 6; 7 leaves every chunk odd-sized.
            for (int chunk : new int[] {16, 7, 1}) {
                float[] chunked = prefill(model, prompt, chunk);
                double cosine = Logits.cosine(onePass, chunked);
                assertTrue(cosine >= least, format + ", chunks of " + chunk + ": cosine " + cosine);
                if (!searched) {
                    assertEquals(Logits.topK(onePass, 1)[0], Logits.topK(chunked, 1)[0], format + ", chunks of " + chunk);
                }
            }
        }
    }

    @Test
    void theDefaultChunkAppliesToPrefillAndCanBeChanged() {
        int[] prompt = randomPrompt(40, 2);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny())) {
            assertEquals(LlamaModel.DEFAULT_PREFILL_CHUNK, model.prefillChunk());
            model.setPrefillChunk(9);
            float[] byDefault;
            try (InferenceSession session = model.newSession(64)) {
                byDefault = session.prefill(prompt);
                assertEquals(prompt.length, session.position());
            }
            float[] explicit = prefill(model, prompt, 9);
            assertEquals(1.0, Logits.cosine(byDefault, explicit), 1e-9, "the same chunks give the same numbers");
        }
    }

    /**
     * The tiny preset has Llama 3's 8,192-token context. Its KV cache at 8,192 positions is 4 MiB
     * and a 512-token chunk's activations a few MiB; the old single pass built a [2 * 8192, 8192]
     * mask and libtorch's fp32 scores behind it, over 1 GiB. The bound leaves room for the
     * allocator and the JVM, far below that.
     */
    @Test
    void an8192TokenPromptPrefillsInBoundedMemory() {
        int[] prompt = randomPrompt(8192, 3);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
                InferenceSession session = model.newSession(8192)) {
            model.setPrefillChunk(LlamaModel.DEFAULT_PREFILL_CHUNK);
            session.prefill(new int[] {128000, 40}); // warm up libtorch's allocations
            session.reset();
            assertTrue(ProcessMemory.resetPeak(), "/proc/self/clear_refs must be writable to measure the peak");
            long before = ProcessMemory.rssBytes();
            float[] logits = session.prefill(prompt);
            long growth = ProcessMemory.peakRssBytes() - before;
            System.out.printf("8192-token prefill (chunks of %d): peak RSS %.1f MiB above the start%n",
                    model.prefillChunk(), growth / 1048576.0);
            assertEquals(8192, session.position());
            assertTrue(Float.isFinite(logits[0]));
            assertTrue(growth < 160L << 20, "peak RSS grew by " + (growth >> 20) + " MiB during the prefill");
        }
    }

    private static float[] prefill(LlamaModel model, int[] prompt, int chunk) {
        try (InferenceSession session = model.newSession(prompt.length + 1)) {
            return session.prefill(prompt, chunk);
        }
    }

    /** Ids below 4096 (ordinary tokens), after the begin-of-text token. */
    static int[] randomPrompt(int length, long seed) {
        Random random = new Random(seed);
        int[] ids = new int[length];
        ids[0] = 128000;
        for (int i = 1; i < length; i++) {
            ids[i] = random.nextInt(4096);
        }
        return ids;
    }

    private static Path checkpoint(String format) throws IOException {
        if (format.equals("bf16")) {
            return TestCheckpoints.tiny();
        }
        Path dir = tmp.resolve(format);
        if (!Files.exists(dir)) {
            Files.createDirectories(dir);
            String dtype = format.replace("-rtn", "");
            Int4Search search = format.endsWith("-rtn") ? Int4Search.NONE : null;
            Quantizer.quantize(TestCheckpoints.tiny(), dir,
                    QuantRecipe.parse(dtype, dtype.equals("int4") ? 32 : null, false, search), Quantizer.Progress.NONE);
        }
        return dir;
    }
}
