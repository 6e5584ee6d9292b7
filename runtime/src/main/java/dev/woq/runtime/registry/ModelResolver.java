package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Turns what a user names ({@code --model} with {@code --dtype}) into the directory to load: the
 * model directory itself for bf16, else its registry entry, quantized first (once) when the
 * registry lacks it. A registry model name alone is enough when only the quantized copy is left.
 */
public final class ModelResolver {
    private final ModelRegistry registry;
    private final Quantizer.Progress progress;
    private final Consumer<String> log;

    /**
     * @param progress receives the quantizer's progress when an entry must be made first
     * @param log receives one-line notes: quantizing first, waiting for a lock, reusing
     */
    public ModelResolver(ModelRegistry registry, Quantizer.Progress progress, Consumer<String> log) {
        this.registry = registry;
        this.progress = progress;
        this.log = log;
    }

    /** Resolves without progress or notes. */
    public ModelResolver(ModelRegistry registry) {
        this(registry, Quantizer.Progress.NONE, message -> {});
    }

    /**
     * The directory holding {@code model}'s weights in {@code format}.
     *
     * @param model a model directory, a Hugging Face hub name in the local cache, or (quantized
     *     formats) a model name in the registry
     * @throws CheckpointException when nothing by that name is found, saying where it looked
     */
    public Path resolve(String model, WeightFormat format) {
        if (!format.quantized()) {
            return locate(model);
        }
        return resolve(model, QuantRecipe.of(format, true));
    }

    /**
     * The registry entry holding {@code model} quantized by {@code recipe}, made first (once) when
     * missing: for a recipe other than the format's default, e.g. int4 rounded to nearest.
     */
    public Path resolve(String model, QuantRecipe recipe) {
        Path source;
        try {
            source = locate(model);
        } catch (CheckpointException notADirectory) {
            Optional<Entry> entry = registry.find(model, ModelRegistry.entryName(recipe));
            if (entry.isPresent()) {
                return registry.open(entry.get().dir()).dir();
            }
            throw notADirectory;
        }
        if (!Files.isRegularFile(registry.entryDir(source, recipe).resolve(Manifest.FILE_NAME))) {
            log.accept("no " + ModelRegistry.entryName(recipe) + " entry for " + source
                    + " in the registry yet: quantizing it first (once)");
        }
        return registry.getOrCreate(source, recipe, false, progress, log).dir();
    }

    /** A model directory, a hub name, or the name of a model imported with {@code woq import}. */
    private Path locate(String model) {
        try {
            return ModelLocator.locate(model);
        } catch (CheckpointException notFound) {
            return ImportedModels.find(registry, model).orElseThrow(() -> notFound);
        }
    }
}
