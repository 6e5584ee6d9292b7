package dev.woq.runtime.model;

import static dev.woq.runtime.model.KernelFaultsAndTailsTest.bf16;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.randomFloats;
import static dev.woq.runtime.model.KernelFaultsAndTailsTest.toFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.synth.SyntheticPreset;
import org.junit.jupiter.api.Test;

/**
 * woq's native layer steps (woq_layer_ops.cpp) against libtorch's TorchScript (LlamaOps.ts), which
 * rounds to bf16 where Hugging Face's Llama does: the norm and SwiGLU's gate agree to one bf16
 * rounding of each value, and a decode token's and a prompt chunk's attention to bf16 rounding of
 * the output, with the same keys and values written into the cache.
 */
class LayerOpsTest {
    /** One step of bf16's 8-bit significand: the most two roundings of the same number can differ by. */
    static final float BF16_STEP = 1f / 128;

    @Test
    void nativeRmsNormMatchesLibtorchsToOneBf16Rounding() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps ops = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            // 1 row (decode), 3 rows, and rows 1,000x apart in scale
            for (int rows : new int[] {1, 3}) {
                float[] x = randomFloats(rows * 4096, rows);
                x[0] = 1000f;
                PtNDArray xs = bf16(ops, m, x, rows, 4096);
                PtNDArray w = bf16(ops, m, randomFloats(4096, 7), 4096);
                float[] expected = toFloats(ops, m, ops.rmsNorm(m, xs, w, 1e-5));
                float[] actual = toFloats(ops, m, natives.rmsNorm(m, xs, w, 1e-5));
                assertWithinOneRounding(expected, actual, "rms_norm of " + rows + " rows");
            }
            // eps reaches the kernel: a row of zeros normalizes to zeros, and tiny rows depend on it
            PtNDArray tiny = bf16(ops, m, scaled(randomFloats(64, 3), 1e-4f), 2, 32);
            PtNDArray w = bf16(ops, m, randomFloats(32, 4), 32);
            assertWithinOneRounding(toFloats(ops, m, ops.rmsNorm(m, tiny, w, 1e-6)),
                    toFloats(ops, m, natives.rmsNorm(m, tiny, w, 1e-6)), "rms_norm with eps 1e-6");
            assertWithinOneRounding(toFloats(ops, m, ops.rmsNorm(m, tiny, w, 0.5)),
                    toFloats(ops, m, natives.rmsNorm(m, tiny, w, 0.5)), "rms_norm with eps 0.5");
        }
    }

    @Test
    void nativeSiluMulMatchesLibtorchsToOneBf16RoundingAcrossTheRange() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps ops = rt.ops();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager()) {
            // a decode token's 14336 and a prompt's 3 x 14336 (split between threads), gate from -100 to 100
            for (int rows : new int[] {1, 3}) {
                float[] gate = scaled(randomFloats(rows * 14336, 10 + rows), 6f);
                gate[0] = -100f;
                gate[1] = 100f;
                gate[2] = -87.5f;
                float[] up = randomFloats(rows * 14336, 20 + rows);
                PtNDArray g = bf16(ops, m, gate, rows, 14336);
                PtNDArray u = bf16(ops, m, up, rows, 14336);
                assertWithinOneRounding(toFloats(ops, m, ops.siluMul(m, g, u)), toFloats(ops, m, natives.siluMul(m, g, u)),
                        "silu_mul of " + rows + " rows");
            }
        }
    }

    /** A native attention operator's call, as {@link NativeOps#attentionDecode} and {@link NativeOps#attentionPrefill} take it. */
    private interface NativeAttention {
        PtNDArray attend(NativeOps natives, PtNDManager m, PtNDArray q, PtNDArray k, PtNDArray v, PtNDArray cos,
                PtNDArray sin, PtNDArray keyCache, PtNDArray valueCache, int position, int heads, int kvHeads);
    }

    /**
     * Llama 3 8B (32 heads on 8 KV heads of 128), Llama 2 (no grouping) and tiny (4 on 2 of 32): for
     * each {pos, T} of {@code cases}, T random tokens (q and k {@code loudness} times louder) at
     * position pos of a random cache, through libtorch's attention and the native one, each on its
     * own copy of the cache: the outputs agree to bf16 rounding and the caches hold the same rows.
     */
    private static void assertNativeAttentionMatchesLibtorchs(NativeAttention kernel, int[][] cases, float loudness) {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps ops = rt.ops();
        for (SyntheticPreset preset : new SyntheticPreset[] {SyntheticPreset.LLAMA3_8B, SyntheticPreset.LLAMA2_7B,
                SyntheticPreset.TINY}) {
            LlamaConfig c = preset.config();
            int h = c.numHeads(), kv = c.numKvHeads(), d = c.headDim();
            try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                    RotaryEmbedding rope = new RotaryEmbedding(m, c)) {
                for (int[] at : cases) {
                    int pos = at[0], t = at[1], capacity = pos + t + 2;
                    float[] cache = randomFloats(kv * capacity * d, pos + t);
                    float[] values = randomFloats(kv * capacity * d, pos + t + 1);
                    PtNDArray kc1 = bf16(ops, m, cache, kv, capacity, d), kc2 = bf16(ops, m, cache, kv, capacity, d);
                    PtNDArray vc1 = bf16(ops, m, values, kv, capacity, d), vc2 = bf16(ops, m, values, kv, capacity, d);
                    PtNDArray q = bf16(ops, m, scaled(randomFloats(t * h * d, pos + 2), loudness), t, h * d);
                    PtNDArray k = bf16(ops, m, scaled(randomFloats(t * kv * d, pos + 3), loudness), t, kv * d);
                    PtNDArray v = bf16(ops, m, randomFloats(t * kv * d, pos + 4), t, kv * d);
                    float[] expected = toFloats(ops, m,
                            ops.attention(m, q, k, v, rope.cos(), rope.sin(), kc1, vc1, pos, h, kv, d));
                    float[] actual = toFloats(ops, m,
                            kernel.attend(natives, m, q, k, v, rope.cos(), rope.sin(), kc2, vc2, pos, h, kv));
                    String what = preset.cliName() + ", " + t + " tokens at position " + pos;
                    assertTrue(relativeRms(expected, actual) < 0.005,
                            what + ": relative RMS difference " + relativeRms(expected, actual));
                    assertWithinOneRounding(toFloats(ops, m, kc1), toFloats(ops, m, kc2), what + ": rotated keys in the cache");
                    assertArrayEquals(toFloats(ops, m, vc1), toFloats(ops, m, vc2), what + ": values in the cache");
                }
            }
        }
    }

    @Test
    void nativeDecodeAttentionMatchesLibtorchsAndWritesTheSameCache() {
        // the first position, a few, and more than the kernel attends on one thread (256)
        assertNativeAttentionMatchesLibtorchs(NativeOps::attentionDecode, new int[][] {{0, 1}, {1, 1}, {37, 1}, {300, 1}},
                1f);
    }

    @Test
    void nativePrefillAttentionMatchesLibtorchsFlashKernelsAndWritesTheSameCache() {
        // a first chunk, a chunk after a cached prefix, lengths off the blocks of 64 keys and of 16 tokens
        // (the 8B's work items; 64 for Llama 2), and a chunk whose last item has one token; q and k loud
        // enough that a softmax row is far from uniform, so the running maximum's rescaling matters
        assertNativeAttentionMatchesLibtorchs(NativeOps::attentionPrefill,
                new int[][] {{0, 2}, {0, 67}, {37, 5}, {130, 81}, {64, 64}, {5, 17}}, 3f);
    }

    @Test
    void aPromptTokenAttendsToNoLaterTokenOfItsChunk() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps ops = rt.ops();
        LlamaConfig c = SyntheticPreset.LLAMA3_8B.config();
        int h = c.numHeads(), kv = c.numKvHeads(), d = c.headDim(), t = 40;
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                RotaryEmbedding rope = new RotaryEmbedding(m, c)) {
            float[] q = randomFloats(t * h * d, 1), k = randomFloats(t * kv * d, 2), v = randomFloats(t * kv * d, 3);
            float[] first = attendChunk(natives, ops, m, rope, q, k, v, t, h, kv, d);
            // change the last 10 tokens' keys and values: the first 30 tokens' outputs must not move
            for (int i = 30 * kv * d; i < t * kv * d; i++) {
                k[i] += 5f;
                v[i] -= 7f;
            }
            float[] second = attendChunk(natives, ops, m, rope, q, k, v, t, h, kv, d);
            for (int i = 0; i < 30 * h * d; i++) {
                assertEquals(first[i], second[i], "output " + i + " (token " + i / (h * d) + ") saw a later token");
            }
            boolean moved = false;
            for (int i = 30 * h * d; i < t * h * d && !moved; i++) {
                moved = first[i] != second[i];
            }
            assertTrue(moved, "the last tokens' outputs did not see their own changed keys");
        }
    }

    private static float[] attendChunk(NativeOps natives, TorchOps ops, PtNDManager m, RotaryEmbedding rope, float[] q,
            float[] k, float[] v, int t, int h, int kv, int d) {
        PtNDArray kc = bf16(ops, m, new float[kv * t * d], kv, t, d), vc = bf16(ops, m, new float[kv * t * d], kv, t, d);
        return toFloats(ops, m, natives.attentionPrefill(m, bf16(ops, m, q, t, h * d), bf16(ops, m, k, t, kv * d),
                bf16(ops, m, v, t, kv * d), rope.cos(), rope.sin(), kc, vc, 0, h, kv));
    }

    @Test
    void badInputToTheLayerOperatorsIsAJavaErrorNamingTheOperator() {
        TorchRuntime rt = TorchRuntime.start(2);
        NativeOps natives = Int4Q32Matrix.requireNatives(rt);
        TorchOps ops = rt.ops();
        LlamaConfig c = SyntheticPreset.TINY.config();
        try (PtNDManager m = (PtNDManager) rt.manager().newSubManager();
                RotaryEmbedding rope = new RotaryEmbedding(m, c)) {
            PtNDArray cache = bf16(ops, m, new float[2 * 4 * 32], 2, 4, 32);
            PtNDArray q = bf16(ops, m, new float[2 * 128], 2, 128); // two tokens: the kernel takes one
            PtNDArray k = bf16(ops, m, new float[64], 1, 64);
            WoqException twoTokens = assertThrows(WoqException.class, () -> natives.attentionDecode(m, q, k, k,
                    rope.cos(), rope.sin(), cache, cache, 0, 4, 2));
            assertTrue(twoTokens.getMessage().contains("woq::attention_decode")
                    && twoTokens.getMessage().contains("q [2, 128]"), twoTokens.getMessage());
            WoqException pastTheCache = assertThrows(WoqException.class, () -> natives.attentionPrefill(m, q,
                    bf16(ops, m, new float[2 * 64], 2, 64), bf16(ops, m, new float[2 * 64], 2, 64), rope.cos(),
                    rope.sin(), cache, cache, 3, 4, 2)); // positions 3 and 4 of a 4-position cache
            assertTrue(pastTheCache.getMessage().contains("woq::attention_prefill")
                    && pastTheCache.getMessage().contains("pos 3"), pastTheCache.getMessage());
            PtNDArray one = bf16(ops, m, new float[128], 1, 128);
            WoqException full = assertThrows(WoqException.class, () -> natives.attentionDecode(m, one, k, k,
                    rope.cos(), rope.sin(), cache, cache, 4, 4, 2)); // position 4 of a 4-position cache
            assertTrue(full.getMessage().contains("pos 4"), full.getMessage());
            PtNDArray odd = bf16(ops, m, new float[2 * 24], 2, 24);
            WoqException norm = assertThrows(WoqException.class,
                    () -> natives.rmsNorm(m, odd, bf16(ops, m, new float[24], 24), 1e-5));
            assertTrue(norm.getMessage().contains("woq::rms_norm") && norm.getMessage().contains("[2, 24]"),
                    norm.getMessage());
            // and the operators still compute afterwards
            PtNDArray x = bf16(ops, m, randomFloats(32, 9), 1, 32);
            PtNDArray w = bf16(ops, m, randomFloats(32, 8), 32);
            assertEquals(32, toFloats(ops, m, natives.rmsNorm(m, x, w, 1e-5)).length);
        }
    }

    /** Every value equal, or one bf16 step apart (two roundings of numbers a few fp32 ulps apart). */
    static void assertWithinOneRounding(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int differing = 0;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (e == a) {
                continue;
            }
            differing++;
            assertTrue(Math.abs(e - a) <= BF16_STEP * Math.max(Math.abs(e), Math.abs(a)),
                    what + ": value " + i + " is " + a + ", libtorch's " + e);
        }
        // one-step differences come from fp32 sums taken in another order: rare, not the rule
        assertTrue(differing <= expected.length / 20, what + ": " + differing + " of " + expected.length + " values differ");
    }

    static double relativeRms(float[] expected, float[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num += (double) (expected[i] - actual[i]) * (expected[i] - actual[i]);
            den += (double) expected[i] * expected[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] scaled(float[] f, float by) {
        for (int i = 0; i < f.length; i++) {
            f[i] *= by;
        }
        return f;
    }
}
