package dev.woq.cli;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.Manifest;
import dev.woq.runtime.registry.ModelRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
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
            description = "int4 group size: 32, 64 or 128 (default: 128).")
    Integer groupSize;

    @Mixin
    WoqHome home;

    /** The directory to load, after quantizing if needed; progress and notices go to {@code err}. */
    Path resolve(PrintWriter err) {
        return resolve(model, dtype, groupSize, home.registry(), err);
    }

    /**
     * The directory holding {@code model}'s weights in {@code dtype}: the model directory for bf16,
     * else its registry entry, quantized first (once, saying so) when the registry lacks it.
     */
    static Path resolve(String model, String dtype, Integer groupSize, ModelRegistry registry, PrintWriter err) {
        if (dtype.equalsIgnoreCase("bf16")) {
            if (groupSize != null) {
                throw new CheckpointException("--group-size applies to --dtype int4, not bf16");
            }
            return ModelLocator.locate(model);
        }
        QuantRecipe recipe = QuantRecipe.parse(dtype, groupSize, false);
        Path source;
        try {
            source = ModelLocator.locate(model);
        } catch (CheckpointException notADirectory) {
            // Only the quantized copy may be left: a registry model name is enough.
            Optional<Entry> entry = registry.find(model, ModelRegistry.entryName(recipe));
            if (entry.isPresent()) {
                return registry.open(entry.get().dir()).dir();
            }
            throw notADirectory;
        }
        if (!Files.isRegularFile(registry.entryDir(source, recipe).resolve(Manifest.FILE_NAME))) {
            err.println("woq: no " + ModelRegistry.entryName(recipe) + " entry for " + source
                    + " in the registry yet: quantizing it first (once)");
            err.flush();
        }
        return QuantizeCommand.getOrCreate(registry, source, recipe, false, err).dir();
    }
}
