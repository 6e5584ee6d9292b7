package dev.woq.runtime.quant;

import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Weight SQNR of a quantized checkpoint against its source: {@code 10 log10(sum w^2 / sum (w -
 * w')^2)} in dB over every quantized projection, w' dequantized from the stored codes, scales and
 * zeros. Reads both checkpoints once, a row block at a time.
 */
public final class WeightSqnr {
    private static final int ROWS_PER_BLOCK = 256;

    private WeightSqnr() {}

    /** The recipe {@code quantizedDir} was written with, from its {@code woq_quantization.json}. */
    public static QuantRecipe recipeOf(Path quantizedDir) {
        Path file = quantizedDir.resolve(QuantRecipe.FILE_NAME);
        try {
            return QuantRecipe.fromJson(JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8))
                    .getAsJsonObject());
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + ": " + e + ". Is " + quantizedDir
                    + " a checkpoint written by woq quantize?", e);
        }
    }

    /** SQNR in dB of {@code quantizedDir}'s projections against {@code sourceDir}'s. */
    public static double measure(Path sourceDir, Path quantizedDir) {
        QuantRecipe recipe = recipeOf(quantizedDir);
        LlamaConfig config = LlamaConfig.load(sourceDir);
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(sourceDir);
        SafetensorsCheckpoint quantized = SafetensorsCheckpoint.open(quantizedDir);
        double signal = 0;
        double noise = 0;
        for (String name : Quantizer.quantizedWeights(config, recipe)) {
            TensorInfo t = source.tensor(name);
            int n = Math.toIntExact(t.shape().get(0));
            for (int r0 = 0; r0 < n; r0 += ROWS_PER_BLOCK) {
                int rows = Math.min(ROWS_PER_BLOCK, n - r0);
                float[] w = TensorRows.readRows(t, r0, rows);
                float[] dq = TensorRows.dequantizeRows(quantized, recipe, name, r0, rows);
                for (int i = 0; i < w.length; i++) {
                    float v = WeightCodec.roundToBf16(w[i]);
                    double d = v - dq[i];
                    signal += (double) v * v;
                    noise += d * d;
                }
            }
        }
        return 10 * Math.log10(signal / noise);
    }
}
