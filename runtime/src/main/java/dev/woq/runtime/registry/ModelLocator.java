package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Turns {@code --model} into a model directory: a directory holding {@code config.json}, or a
 * Hugging Face hub name ({@code meta-llama/Meta-Llama-3-8B-Instruct}) already downloaded into the
 * Hugging Face cache ({@code $HF_HUB_CACHE}, {@code $HF_HOME/hub} or
 * {@code ~/.cache/huggingface/hub}). Nothing is downloaded.
 */
public final class ModelLocator {
    private ModelLocator() {}

    public static Path locate(String model) {
        return locate(model, hubCache());
    }

    /** As {@link #locate(String)}, looking up hub names in {@code hubCache}. */
    public static Path locate(String model, Path hubCache) {
        Path direct = Path.of(model.startsWith("~/") ? System.getProperty("user.home") + model.substring(1) : model);
        if (Files.isDirectory(direct)) {
            if (!Files.isRegularFile(direct.resolve("config.json"))) {
                throw new CheckpointException(
                        "No config.json in " + direct + ": --model needs a Hugging Face model directory "
                                + "(config.json, tokenizer.json, *.safetensors)");
            }
            return direct;
        }
        List<String> tried = new ArrayList<>();
        tried.add(direct.toAbsolutePath().toString());
        if (model.contains("/") && !model.startsWith("/") && !model.startsWith(".")) {
            Path repo = hubCache.resolve("models--" + model.replace("/", "--"));
            tried.add(repo.toString());
            Path snapshot = snapshot(repo);
            if (snapshot != null) {
                return snapshot;
            }
        }
        throw new CheckpointException(
                "Model '" + model + "' not found (looked at " + String.join(", ", tried) + "). Pass a model "
                        + "directory, or a Hugging Face name downloaded with 'huggingface-cli download'.");
    }

    private static Path hubCache() {
        String hub = System.getenv("HF_HUB_CACHE");
        if (hub != null && !hub.isBlank()) {
            return Path.of(hub);
        }
        String home = System.getenv("HF_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home, "hub");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
    }

    /** The snapshot refs/main points at, else the only snapshot with a config.json. */
    private static Path snapshot(Path repo) {
        Path snapshots = repo.resolve("snapshots");
        if (!Files.isDirectory(snapshots)) {
            return null;
        }
        try {
            Path ref = repo.resolve("refs").resolve("main");
            if (Files.isRegularFile(ref)) {
                Path s = snapshots.resolve(Files.readString(ref, StandardCharsets.UTF_8).trim());
                if (Files.isRegularFile(s.resolve("config.json"))) {
                    return s;
                }
            }
            try (Stream<Path> list = Files.list(snapshots)) {
                List<Path> withConfig = list.filter(s -> Files.isRegularFile(s.resolve("config.json"))).toList();
                if (withConfig.size() == 1) {
                    return withConfig.get(0);
                }
                if (withConfig.size() > 1) {
                    throw new CheckpointException(
                            repo + " has " + withConfig.size() + " snapshots and no refs/main: pass the snapshot directory itself");
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot read the Hugging Face cache at " + repo + ": " + e.getMessage(), e);
        }
        return null;
    }
}
