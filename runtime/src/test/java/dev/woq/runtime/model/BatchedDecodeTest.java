package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Continuous batching's step: sequences of different lengths, each with its own cache, decoded
 * together give the logits each gets decoded alone, in every weight format.
 */
class BatchedDecodeTest {
    private static final int[][] PROMPTS = {
        {128000, 9906, 11, 1917},
        {128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053},
        {128000, 40},
    };
    private static final int[][] NEXT = {
        {374, 1139, 264}, {5679, 13, 578}, {1097, 1101, 2103},
    };

    @TempDir
    static Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bf16", "int8", "int4"})
    void batchedStepsGiveTheLogitsOfEachSequenceDecodedAlone(String format) throws IOException {
        Path dir = checkpoint(format);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir)) {
            float[][][] alone = new float[PROMPTS.length][][];
            for (int s = 0; s < PROMPTS.length; s++) {
                try (InferenceSession session = model.newSession(64)) {
                    session.prefill(PROMPTS[s]);
                    alone[s] = new float[NEXT[s].length][];
                    for (int step = 0; step < NEXT[s].length; step++) {
                        alone[s][step] = session.decode(NEXT[s][step]);
                    }
                }
            }
            List<InferenceSession> sessions = new ArrayList<>();
            try {
                for (int[] prompt : PROMPTS) {
                    InferenceSession session = model.newSession(64);
                    sessions.add(session);
                    session.prefill(prompt);
                }
                for (int step = 0; step < NEXT[0].length; step++) {
                    int[] ids = new int[PROMPTS.length];
                    for (int s = 0; s < ids.length; s++) {
                        ids[s] = NEXT[s][step];
                    }
                    float[][] together = model.decode(sessions, ids);
                    for (int s = 0; s < PROMPTS.length; s++) {
                        double cosine = Logits.cosine(alone[s][step], together[s]);
                        assertTrue(cosine > 0.9999, format + " sequence " + s + " step " + step + ": cosine " + cosine);
                        assertEquals(argmax(alone[s][step]), argmax(together[s]), format + " sequence " + s + " step " + step);
                        assertEquals(PROMPTS[s].length + step + 1, sessions.get(s).position());
                    }
                }
            } finally {
                sessions.forEach(InferenceSession::close);
            }
        }
    }

    @Test
    void aFullSessionIsRefusedBeforeAnythingRuns() {
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
                InferenceSession roomy = model.newSession(8);
                InferenceSession full = model.newSession(2)) {
            roomy.prefill(new int[] {128000});
            full.prefill(new int[] {128000, 40});
            WoqException e = assertThrows(WoqException.class,
                    () -> model.decode(List.of(roomy, full), new int[] {40, 41}));
            assertTrue(e.getMessage().contains("KV cache holds 2"), e.getMessage());
            assertEquals(1, roomy.position(), "nothing ran, so nothing advanced");
        }
    }

    private static Path checkpoint(String format) throws IOException {
        if (format.equals("bf16")) {
            return TestCheckpoints.tiny();
        }
        Path dir = tmp.resolve(format);
        if (!Files.exists(dir)) {
            Files.createDirectories(dir);
            Quantizer.quantize(TestCheckpoints.tiny(), dir, QuantRecipe.parse(format, format.equals("int4") ? 32 : null, false), Quantizer.Progress.NONE);
        }
        return dir;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
