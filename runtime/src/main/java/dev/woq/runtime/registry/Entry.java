package dev.woq.runtime.registry;

import dev.woq.runtime.quant.QuantRecipe;
import java.nio.file.Path;

/**
 * A complete registry entry: a directory of quantized weights with its manifest.
 *
 * @param dir the entry's directory, e.g. {@code ~/.woq/registry/Meta-Llama-3-8B-Instruct/int4-q32}
 * @param model the model's name in the registry
 * @param recipe how it was quantized
 * @param manifest its manifest
 * @param totalBytes the size of its files, manifest excluded
 */
public record Entry(Path dir, String model, QuantRecipe recipe, Manifest manifest, long totalBytes) {
    /** {@code model/recipe}, as {@code woq registry} commands take it. */
    public String key() {
        return model + "/" + dir.getFileName();
    }

    /** The entry's directory name: the recipe id, with a suffix when lm_head stays bf16. */
    public String recipeName() {
        return dir.getFileName().toString();
    }
}
