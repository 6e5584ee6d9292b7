package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.quant.Calibration;
import dev.woq.runtime.quant.QuantRecipe;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --calibration FILE} and {@code --calibration-tokens N}: int4 weighted by a text's activations. */
final class CalibrationOptions {
    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Activation-aware int4: run this UTF-8 text (like the prompts the model will see) through"
                    + " the bf16 model first and weigh each weight's error in the int4 search by its input's mean"
                    + " square on it, as llama.cpp's imatrix does (entry int4-q32-cal). Helps models whose"
                    + " activations have outlier features (trained Llamas); not the default.")
    Path text;

    @Option(names = "--calibration-tokens", paramLabel = "N",
            description = "Tokens of the --calibration text to read, from its start (default: "
                    + Calibration.DEFAULT_MAX_TOKENS + ").")
    Integer tokens;

    /** {@code recipe}, calibrated when {@code --calibration} is given; checks the file and the options first. */
    QuantRecipe apply(QuantRecipe recipe) {
        if (text == null) {
            if (tokens != null) {
                throw new ConfigException("--calibration-tokens " + tokens
                        + " was given without --calibration FILE: add the text, or drop it.");
            }
            return recipe;
        }
        return recipe.withCalibration(Calibration.of(text, tokens == null ? Calibration.DEFAULT_MAX_TOKENS : tokens));
    }
}
