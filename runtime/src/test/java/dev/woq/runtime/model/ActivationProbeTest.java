package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.ActivationImportance;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.quant.Int4Q32WeightOnly;
import dev.woq.runtime.quant.Int4Search;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Calibration's measurement of every projection's inputs against {@link ReferenceLlama}'s fp32
 * forward pass on the same windows (BOS, then the text's next tokens): each input channel's mean
 * square, normalised as {@link ActivationImportance} does, within 6 % (the engine computes in
 * bf16; measured when written: at most 3.8 %).
 */
class ActivationProbeTest {
    private static final int WINDOW = 48;

    @Test
    void importanceIsEachProjectionInputsMeanSquareOverEveryPositionOfEveryWindow() {
        Path dir = TestCheckpoints.tiny();
        LlamaConfig config = LlamaConfig.load(dir);
        int[] tokens = new Random(3).ints(100, 0, 5000).toArray();
        List<long[]> progress = new ArrayList<>();
        ActivationImportance measured = ActivationProbe.measure(TorchRuntime.start(2), dir, tokens, WINDOW,
                (done, total) -> progress.add(new long[] {done, total}));

        Map<String, double[]> sums = new HashMap<>();
        ReferenceLlama reference = new ReferenceLlama(config, SafetensorsCheckpoint.open(dir));
        int perWindow = WINDOW - 1;
        int windows = 0;
        for (int from = 0; from < tokens.length; from += perWindow, windows++) {
            int to = Math.min(tokens.length, from + perWindow);
            int[] ids = new int[to - from + 1];
            ids[0] = config.bosTokenId();
            System.arraycopy(tokens, from, ids, 1, to - from);
            reference.logits(ids, (name, x) -> {
                double[] s = sums.computeIfAbsent(name, n -> new double[x[0].length]);
                for (float[] row : x) {
                    for (int j = 0; j < row.length; j++) {
                        s[j] += (double) row[j] * row[j];
                    }
                }
            });
        }
        assertEquals(3, windows);
        List<String> quantized = Quantizer.quantizedWeights(config, new Int4Q32WeightOnly(true, Int4Search.MSE));
        assertEquals(quantized.size(), sums.size(), "the reference saw every quantized projection");
        double worst = 0;
        for (String name : quantized) {
            float[] got = measured.of(name);
            assertNotNull(got, name + " was not measured");
            double[] s = sums.get(name);
            assertEquals(s.length, got.length, name);
            double mean = java.util.Arrays.stream(s).average().orElseThrow();
            for (int j = 0; j < s.length; j++) {
                double expected = s[j] / mean;
                double actual = got[j] - ActivationImportance.FLOOR;
                double error = Math.abs(actual - expected) / Math.max(expected, 0.05);
                worst = Math.max(worst, error);
                assertTrue(error <= 0.06, name + " input " + j + ": " + actual + " against " + expected);
            }
        }
        System.out.printf("calibration importance vs fp32 reference: worst relative error %.4f%n", worst);
        assertEquals(tokens.length, measured.tokens());
        assertEquals(List.of(0L, 47L, 94L, 100L), progress.stream().map(p -> p[0]).toList());
    }

    @Test
    void tokenOutsideTheVocabularyIsRefusedNamingIt() {
        Path dir = TestCheckpoints.tiny();
        int vocab = LlamaConfig.load(dir).vocabSize();
        int[] tokens = {1, 2, vocab};
        WoqException e = assertThrows(WoqException.class,
                () -> ActivationProbe.measure(TorchRuntime.start(2), dir, tokens, WINDOW, (a, b) -> {}));
        assertTrue(e.getMessage().contains("token id " + vocab + ", outside the model's vocabulary"), e.getMessage());
    }
}
