package dev.woq.runtime;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.ChatFormats;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.TokenizerException;
import dev.woq.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A model ready to generate in this process: the engine, the weights, the tokenizer (Llama 3's or
 * Llama 2's, by the file) and the chat format (by the model's chat template), loaded together
 * from one directory (a Hugging Face checkpoint or a registry entry; see
 * {@link dev.woq.runtime.registry.ModelResolver} for turning a name and a dtype into one). Closing
 * it frees the weights and the tokenizer; the engine stays for the process.
 */
public final class LocalModel implements AutoCloseable {
    private final Path dir;
    private final TorchRuntime torch;
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final ChatFormats.Choice chat;
    private final double loadSeconds;

    private LocalModel(Path dir, TorchRuntime torch, LlamaModel model, Tokenizer tokenizer, ChatFormats.Choice chat,
            double loadSeconds) {
        this.dir = dir;
        this.torch = torch;
        this.model = model;
        this.tokenizer = tokenizer;
        this.chat = chat;
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
        Tokenizer tokenizer = Tokenizers.load(file);
        try {
            ChatFormats.Choice chat = chatFormat(dir, tokenizer);
            LlamaModel model = LlamaModel.load(torch, dir);
            return new LocalModel(dir, torch, model, tokenizer, chat, (System.nanoTime() - start) / 1e9);
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

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The chat format, chosen from the model's chat template (see {@link ChatFormats}). */
    public ChatFormat chatFormat() {
        return chat.format();
    }

    /** How the chat format was chosen, e.g. "llama2, from the chat_template of .../tokenizer_config.json". */
    public String chatFormatChoice() {
        return chat.how();
    }

    /**
     * The chat format of a model directory, from its {@code tokenizer_config.json}'s chat template.
     *
     * @throws WoqException when the template is not one woq knows, or does not fit the tokenizer
     */
    public static ChatFormats.Choice chatFormat(Path dir, Tokenizer tokenizer) {
        try {
            return ChatFormats.forModel(dir, tokenizer);
        } catch (TokenizerException e) {
            throw new WoqException(e.getMessage(), e);
        }
    }

    /** Seconds from the start of {@link #load} to a usable model. */
    public double loadSeconds() {
        return loadSeconds;
    }

    /** The startup line: engine, kernels, threads, the model, its layers and weight format, load time. */
    public String describe() {
        return String.format(Locale.ROOT, "%s; model %s (%d layers, %s), loaded in %.1f s; chat format %s",
                torch.describe(), dir, model.config().numLayers(), model.weightFormat(), loadSeconds, chat.how());
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
