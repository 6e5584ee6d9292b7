package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.ActivationProbe;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.TensorInfo;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code woq quantize --calibration} end to end on the tiny checkpoint with the real Llama 3
 * tokenizer: the calibrated int4-q32 entry has a smaller importance-weighted error (the expected
 * output error on the calibration text's activations) than the uncalibrated one in every layer,
 * and records its text; bad calibration inputs fail before anything is written.
 */
class CalibratedQuantizerTest {
    @TempDir
    Path temp;

    @Test
    void calibratedInt4Q32HasLessOutputErrorOnTheTextsActivationsAndRecordsTheText() throws IOException {
        Path src = tinyWithTokenizer();
        Path text = writeText("prompts.txt", 40);
        Calibration calibration = Calibration.of(text, Calibration.DEFAULT_MAX_TOKENS);
        QuantRecipe plain = new Int4Q32WeightOnly(true, Int4Search.MSE);
        QuantRecipe calibrated = plain.withCalibration(calibration);
        assertEquals("int4-q32-cal", calibrated.id());
        Path plainDir = Files.createDirectory(temp.resolve("plain"));
        Path calibratedDir = Files.createDirectory(temp.resolve("cal"));
        Quantizer.quantize(src, plainDir, plain, Quantizer.Progress.NONE);
        long[] calibratingCalls = new long[2];
        Quantizer.quantize(src, calibratedDir, calibrated, new Quantizer.Progress() {
            @Override
            public void update(long tensorsDone, long tensorsTotal, long bytesDone, long bytesTotal) {}

            @Override
            public void calibrating(long tokensDone, long tokensTotal) {
                calibratingCalls[0]++;
                calibratingCalls[1] = tokensDone;
            }
        });
        int[] tokens;
        try (Tokenizer tokenizer = Tokenizers.load(src.resolve("tokenizer.json"))) {
            tokens = tokenizer.encode(Files.readString(text));
        }
        assertTrue(calibratingCalls[0] >= 2 && calibratingCalls[1] == tokens.length,
                "progress " + calibratingCalls[0] + " calls, last at " + calibratingCalls[1] + " of " + tokens.length);

        JsonObject recorded = JsonParser.parseString(Files.readString(calibratedDir.resolve(QuantRecipe.FILE_NAME)))
                .getAsJsonObject();
        assertEquals(calibrated.toJson(), recorded);
        JsonObject c = recorded.getAsJsonObject("calibration");
        assertEquals("prompts.txt", c.get("text").getAsString());
        assertEquals(calibration.sha256(), c.get("sha256").getAsString());
        assertEquals(calibrated.toJson(), QuantRecipe.fromJson(recorded).toJson());

        ActivationImportance importance = ActivationProbe.measure(TorchRuntime.start(2), src, tokens, Calibration.WINDOW,
                (a, b) -> {});
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(src);
        SafetensorsCheckpoint plainOut = SafetensorsCheckpoint.open(plainDir);
        SafetensorsCheckpoint calibratedOut = SafetensorsCheckpoint.open(calibratedDir);
        LlamaConfig config = LlamaConfig.load(src);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            double plainError = 0;
            double calibratedError = 0;
            for (String p : LlamaWeights.layer(layer).projections()) {
                plainError += weightedError(source, plainOut, plain, p, importance.of(p));
                calibratedError += weightedError(source, calibratedOut, calibrated, p, importance.of(p));
            }
            System.out.printf("layer %d importance-weighted squared error: calibrated %.4g, plain %.4g%n", layer,
                    calibratedError, plainError);
            assertTrue(calibratedError < plainError * 0.95, "layer " + layer + ": calibrated " + calibratedError
                    + " against " + plainError);
        }
    }

    @Test
    void aModelWithoutTokenizerFailsNamingItAndWritesNothing() throws IOException {
        Path src = TestCheckpoints.tiny(); // written without tokenizer files
        Path dst = Files.createDirectory(temp.resolve("q"));
        QuantRecipe recipe = new Int4Q32WeightOnly(true, Int4Search.MSE)
                .withCalibration(Calibration.of(writeText("p.txt", 20), Calibration.DEFAULT_MAX_TOKENS));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Quantizer.quantize(src, dst, recipe, Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("No tokenizer.json in " + src), e.getMessage());
        assertEquals(0, Files.list(dst).count());
    }

    @Test
    void aTextShorterThanTheMinimumFailsSayingHowManyTokensAndWritesNothing() throws IOException {
        Path src = tinyWithTokenizer();
        Path dst = Files.createDirectory(temp.resolve("q"));
        Path text = temp.resolve("short.txt");
        Files.writeString(text, "Too short to calibrate anything.");
        QuantRecipe recipe = new Int4Q32WeightOnly(true, Int4Search.MSE)
                .withCalibration(Calibration.of(text, Calibration.DEFAULT_MAX_TOKENS));
        ConfigException e = assertThrows(ConfigException.class,
                () -> Quantizer.quantize(src, dst, recipe, Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("has 7 tokens: give at least " + Calibration.MIN_TOKENS), e.getMessage());
        assertEquals(0, Files.list(dst).count());
    }

    @Test
    void calibrationIsRefusedWhereThereIsNoSearchToWeigh() throws IOException {
        Calibration calibration = Calibration.of(writeText("p.txt", 20), Calibration.DEFAULT_MAX_TOKENS);
        ConfigException int8 = assertThrows(ConfigException.class,
                () -> QuantRecipe.parse("int8", null, false).withCalibration(calibration));
        assertTrue(int8.getMessage().contains("--calibration applies to int4"), int8.getMessage());
        ConfigException rtn = assertThrows(ConfigException.class,
                () -> QuantRecipe.parse("int4", null, false, Int4Search.NONE).withCalibration(calibration));
        assertTrue(rtn.getMessage().contains("--int4-search none (round to nearest) searches nothing"), rtn.getMessage());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> Calibration.of(temp.resolve("absent.txt"), Calibration.DEFAULT_MAX_TOKENS));
        assertTrue(missing.getMessage().contains("No calibration text at " + temp.resolve("absent.txt")),
                missing.getMessage());
        assertEquals("int4-g128-cal", new Int4WeightOnly(128).withCalibration(calibration).id());
    }

    /** Σ over the matrix of {@code a[j] (w - w')²}. */
    private static double weightedError(SafetensorsCheckpoint source, SafetensorsCheckpoint out, QuantRecipe recipe,
            String name, float[] importance) {
        TensorInfo t = source.tensor(name);
        int n = Math.toIntExact(t.shape().get(0));
        int k = Math.toIntExact(t.shape().get(1));
        float[] w = TensorRows.readRows(t, 0, n);
        float[] dq = TensorRows.dequantizeRows(out, recipe, name, 0, n);
        double error = 0;
        for (int i = 0; i < w.length; i++) {
            double d = w[i] - dq[i];
            error += importance[i % k] * d * d;
        }
        return error;
    }

    /** {@code sentences} lines of plain English, a few hundred tokens. */
    private Path writeText(String name, int sentences) throws IOException {
        StringBuilder b = new StringBuilder();
        String[] words = {"the", "model", "reads", "a", "long", "report", "about", "quarterly", "sales", "and",
            "answers", "questions", "from", "its", "pages", "with", "citations"};
        java.util.Random random = new java.util.Random(name.hashCode());
        for (int s = 0; s < sentences; s++) {
            for (int w = 0; w < 12; w++) {
                b.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            }
            b.append(".\n");
        }
        Path file = temp.resolve(name);
        Files.writeString(file, b, StandardCharsets.UTF_8);
        return file;
    }

    /** The tiny checkpoint's files linked beside the real Llama 3 tokenizer. */
    private Path tinyWithTokenizer() {
        return TestCheckpoints.withTokenizer(TestCheckpoints.tiny(), temp.resolve("tiny-tok"));
    }
}
