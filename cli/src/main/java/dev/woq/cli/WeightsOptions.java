package dev.woq.cli;

import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.registry.ModelResolver;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code --model} with {@code --dtype}: which weights a command runs. bf16 loads the model
 * directory itself; int8 and int4 load its registry entry, quantizing first (once) when the
 * registry lacks it.
 */
final class WeightsOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR|NAME",
            description = "A Hugging Face model directory, a hub name in the Hugging Face cache, "
                    + "or (with --dtype int8/int4) a model name in woq's registry.")
    String model;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "bf16",
            description = "bf16, int8 or int4 (default: ${DEFAULT-VALUE}). int8/int4 use the registry "
                    + "entry, quantizing first if there is none.")
    String dtype;

    @Option(names = "--group-size", paramLabel = "N",
            description = "int4 with a bf16 scale and zero per group of 32, 64 or 128 (entry int4-g<N>)"
                    + " instead of int4-q32, the default.")
    Integer groupSize;

    @Mixin
    WoqHome home;

    /** The weight format asked for; checks the dtype and group size before anything is loaded. */
    WeightFormat format() {
        return WeightFormat.parse(dtype, groupSize);
    }

    /** The directory to load, after quantizing if needed; progress and notices go to {@code err}. */
    Path resolve(PrintWriter err) {
        return resolve(model, format(), home.registry(), err);
    }

    /**
     * The directory holding {@code model}'s weights in {@code format}: the model directory for bf16,
     * else its registry entry, quantized first (once, saying so) when the registry lacks it.
     */
    static Path resolve(String model, WeightFormat format, ModelRegistry registry, PrintWriter err) {
        return format.quantized() ? resolve(model, QuantRecipe.of(format, true), registry, err)
                : new ModelResolver(registry).resolve(model, format);
    }

    /** The registry entry of {@code model} quantized by {@code recipe}, made first (once, saying so) if missing. */
    static Path resolve(String model, QuantRecipe recipe, ModelRegistry registry, PrintWriter err) {
        QuantizeCommand.TensorProgress progress = QuantizeCommand.TensorProgress.onTerminal("quantizing " + recipe.id(), err);
        Path dir = new ModelResolver(registry, progress, message -> {
            progress.interrupt();
            err.println("woq: " + message);
            err.flush();
        }).resolve(model, recipe);
        progress.finish();
        return dir;
    }
}
