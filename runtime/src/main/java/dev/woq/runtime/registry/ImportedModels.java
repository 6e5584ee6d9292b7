package dev.woq.runtime.registry;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Models imported into woq's home from other formats ({@code woq import --gguf}): each a Hugging
 * Face checkpoint directory {@code <home>/models/<name>/}, found by its name wherever {@code
 * --model} takes one.
 */
public final class ImportedModels {
    /** The directory under the home that holds imported models. */
    public static final String DIR_NAME = "models";

    private ImportedModels() {}

    /** Where the imported model {@code name} lives (whether or not it exists). */
    public static Path dir(ModelRegistry registry, String name) {
        return registry.home().resolve(DIR_NAME).resolve(ModelNames.sanitize(name));
    }

    /** The imported model called {@code name}, if there is a complete one. */
    public static Optional<Path> find(ModelRegistry registry, String name) {
        if (name.contains("/") || name.startsWith(".") || !name.equals(ModelNames.sanitize(name))) {
            return Optional.empty();
        }
        Path dir = dir(registry, name);
        return Files.isRegularFile(dir.resolve("config.json")) ? Optional.of(dir) : Optional.empty();
    }
}
