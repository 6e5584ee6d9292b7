package dev.woq.runtime;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.Llama3Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A model ready to generate in this process: the engine, the weights and the tokenizer, loaded
 * together from one directory (a Hugging Face checkpoint or a registry entry; see
 * {@link dev.woq.runtime.registry.ModelResolver} for turning a name and a dtype into one). Closing
 * it frees the weights and the tokenizer; the engine stays for the process.
 */
public final class LocalModel implements AutoCloseable {
    private final Path dir;
    private final TorchRuntime torch;
    private final LlamaModel model;
    private final Llama3Tokenizer tokenizer;
    private final double loadSeconds;

    private LocalModel(Path dir, TorchRuntime torch, LlamaModel model, Llama3Tokenizer tokenizer, double loadSeconds) {
        this.dir = dir;
        this.torch = torch;
        this.model = model;
        this.tokenizer = tokenizer;
        this.loadSeconds = loadSeconds;
    }

    /**
     * Loads the model in {@code dir} with its {@code tokenizer.json}.
     *
     * @param tokenizerFile another tokenizer.json, or {@code null} for the directory's own
     * @param threads kernel threads (the process's engine takes this count)
     * @throws WoqException when the tokenizer is missing (saying what to pass) or the weights are bad
     */
    public static LocalModel load(Path dir, Path tokenizerFile, int threads) {
        Path file = tokenizerFile(dir, tokenizerFile);
        long start = System.nanoTime();
        TorchRuntime torch = TorchRuntime.start(threads);
        Llama3Tokenizer tokenizer = Llama3Tokenizer.load(file);
        try {
            LlamaModel model = LlamaModel.load(torch, dir);
            return new LocalModel(dir, torch, model, tokenizer, (System.nanoTime() - start) / 1e9);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * The tokenizer file a model directory is read with: {@code override} when given, else the
     * directory's {@code tokenizer.json}.
     *
     * @throws WoqException when that file does not exist, saying what to pass
     */
    public static Path tokenizerFile(Path dir, Path override) {
        Path file = override != null ? override : dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new WoqException("No tokenizer at " + file
                    + (override != null ? "" : ": the model directory needs tokenizer.json, or pass --tokenizer FILE"));
        }
        return file;
    }

    public Path dir() {
        return dir;
    }

    public TorchRuntime torch() {
        return torch;
    }

    public LlamaModel model() {
        return model;
    }

    public Llama3Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Seconds from the start of {@link #load} to a usable model. */
    public double loadSeconds() {
        return loadSeconds;
    }

    /** The startup line: engine, kernels, threads, the model, its layers and weight format, load time. */
    public String describe() {
        return String.format(Locale.ROOT, "%s; model %s (%d layers, %s), loaded in %.1f s",
                torch.describe(), dir, model.config().numLayers(), model.weightFormat(), loadSeconds);
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            tokenizer.close();
        }
    }
}
