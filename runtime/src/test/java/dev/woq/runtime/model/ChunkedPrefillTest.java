package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.NativeKernels.Int4Activations;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.Int4Search;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.util.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
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
    /** The prompt's seed: its top token leads clearly in every format (see below). */
    private static final int PROMPT_SEED = 2;

    @TempDir
    static Path tmp;

    /**
     * Prompts of 9 tokens or more run on the blocked prompt kernels, shorter chunks and single
     * tokens on the decode kernels; with int4's activations in bf16 both take the weights exactly
     * (codes as bf16 integers, scales and zeros in fp32), so only fp32 summation order separates
     * them. int4 runs with both group sizes on round-to-nearest weights and on the default
     * MSE-searched ones, whose scales are not powers of two: rounding each dequantized weight to
     * bf16, as the int4 prompt kernel once did, dropped the cosine for those to 0.99987.
     *
     * <p>The logits are bf16: 4 to 8, where this random model's top tokens lie, step by 1/32. A top
     * token one step ahead of its runner-up flips with any rounding (seed 1's prompt did so for
     * int4-g32 in chunks of 7 at a cosine of 0.99993), so the prompt is seed 2's, whose top token
     * leads by 5 steps or more in every format and on either int4 activations (the widest of seeds
     * 1-16; seed 4 came next with 3), and the test asserts that lead before comparing top tokens.
     *
     * <p>Every format, in chunks of several tokens and token by token, is bounded by the issue's
     * 0.9999. Attention runs in fp32 and is rounded once: a chunk's attention over its own keys and
     * over the cached ones are merged in fp32, and the decode step keeps the softmax's weights in
     * fp32, as one pass does. (When both parts were rounded to bf16 before the merge, and the
     * decode step rounded its weights to match libtorch's bf16 kernel, chunks measured
     * 0.99987-0.99996 on bf16 inputs and 0.99971-0.99984 on int8 ones; now 0.99996-1.0 and
     * 0.99993-1.0 on seed 2's prompt.)
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bf16", "int8", "int4-q32", "int4-g128", "int4-g32", "int4-g128-rtn", "int4-g32-rtn"})
    void onePassChunksAndSingleTokensGiveTheSameLogits(String format) throws IOException {
        TorchRuntime rt = TorchRuntime.start(2);
        try (LlamaModel model = LlamaModel.load(rt, checkpoint(format))) {
            // without woq's kernels, int4 runs on libtorch's, whose inputs are bf16 anyway
            boolean natives = rt.natives().ops().isPresent();
            Int4Activations before = natives ? rt.natives().useInt4Activations(Int4Activations.BF16) : null;
            try {
                assertOnePassChunksAndSingleTokensAgree(model, format);
            } finally {
                if (natives) {
                    rt.natives().useInt4Activations(before);
                }
            }
        }
    }

    /**
     * int4 on int8 activations (the default where the CPU has VNNI) rounds each token's inputs to
     * 8 bits per block of 32, in the prompt kernels and the decode loops alike, so one pass, chunks
     * and token by token agree within the 0.9999 as on bf16 inputs (when only prompts
     * rounded x and decoding kept it in bf16, token by token measured 0.99963-0.99980). The
     * difference from the bf16 inputs' one pass shows the switch took effect.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"int4-q32", "int4-g128", "int4-g32", "int4-g128-rtn", "int4-g32-rtn"})
    void int4OnInt8ActivationsGivesTheSameLogitsInOnePassChunksAndSingleTokens(String format) throws IOException {
        TorchRuntime rt = TorchRuntime.start(2);
        Int4Q32Matrix.requireNatives(rt);
        Assumptions.assumeTrue(cpuHasAvx512Vnni(), "no AVX-512 VNNI on this CPU");
        int[] prompt = randomPrompt(70, PROMPT_SEED);
        try (LlamaModel model = LlamaModel.load(rt, checkpoint(format))) {
            Int4Activations before = rt.natives().useInt4Activations(Int4Activations.BF16);
            try {
                float[] onBf16 = prefill(model, prompt, prompt.length);
                rt.natives().useInt4Activations(Int4Activations.INT8);
                float[] onePass = assertOnePassChunksAndSingleTokensAgree(model, format + " on int8 activations");
                double againstBf16 = Logits.cosine(onBf16, onePass);
                System.out.printf("%s: cosine %.7f between int8 and bf16 activations%n", format, againstBf16);
                assertTrue(againstBf16 < 0.999999, format + ": int8 activations gave bf16's logits");
            } finally {
                rt.natives().useInt4Activations(before);
            }
        }
    }

    /**
     * Seed 2's prompt in one pass, in chunks of 16, 7 and 1: the same top token and a cosine of
     * 0.9999 or more; returns one pass.
     */
    private static float[] assertOnePassChunksAndSingleTokensAgree(LlamaModel model, String what) {
        int[] prompt = randomPrompt(70, PROMPT_SEED);
        float[] onePass = prefill(model, prompt, prompt.length);
        int[] top = Logits.topK(onePass, 2);
        double lead = onePass[top[0]] - onePass[top[1]];
        assertTrue(lead >= 3 / 32.0, what + ": the top token leads by " + lead + ", too close to compare");
        // 16 splits evenly into whole chunks plus a tail of 6; 7 leaves every chunk odd-sized.
        int[] chunks = {16, 7, 1};
        float[][] chunked = new float[chunks.length][];
        for (int i = 0; i < chunks.length; i++) {
            chunked[i] = prefill(model, prompt, chunks[i]);
            System.out.printf("%s, chunks of %d: cosine %.7f against one pass%n", what, chunks[i],
                    Logits.cosine(onePass, chunked[i]));
        }
        for (int i = 0; i < chunks.length; i++) {
            double cosine = Logits.cosine(onePass, chunked[i]);
            assertTrue(cosine >= 0.9999, what + ", chunks of " + chunks[i] + ": cosine " + cosine);
            assertEquals(Logits.topK(onePass, 1)[0], Logits.topK(chunked[i], 1)[0], what + ", chunks of " + chunks[i]);
        }
        return onePass;
    }

    private static boolean cpuHasAvx512Vnni() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        return Files.isReadable(cpuinfo) && Files.readString(cpuinfo).contains(" avx512_vnni");
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

    /**
     * bf16: the tiny preset; int8; int4-q32 (what {@code --dtype int4} makes); int4-gG (MSE search,
     * the default) or int4-gG-rtn (round to nearest).
     */
    private static Path checkpoint(String format) throws IOException {
        if (format.equals("bf16")) {
            return TestCheckpoints.tiny();
        }
        Path dir = tmp.resolve(format);
        if (!Files.exists(dir)) {
            Files.createDirectories(dir);
            boolean int4 = format.startsWith("int4");
            Integer group = int4 && format.startsWith("int4-g") ? Integer.valueOf(format.split("-")[1].substring(1)) : null;
            Int4Search search = format.endsWith("-rtn") ? Int4Search.NONE : null;
            Quantizer.quantize(TestCheckpoints.tiny(), dir,
                    QuantRecipe.parse(int4 ? "int4" : format, group, false, search), Quantizer.Progress.NONE);
        }
        return dir;
    }
}
