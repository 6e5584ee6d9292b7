package dev.woq.runtime.synth;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.model.LlamaConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Shapes of synthetic checkpoints. All but {@code llama2-7b} keep Llama 3's vocabulary (128,256) so
 * the real tokenizer fits them; the layer shapes are multiples of 128 so every quantization group
 * size fits.
 */
public enum SyntheticPreset {
    /** Two narrow layers: unit tests, a reference forward in plain Java. About 66 MB. */
    TINY("tiny", config(128, 2, 4, 2, 32, 384)),
    /** Four layers: end-to-end tests and the quickstart. About 290 MB. */
    SMALL("small", config(512, 4, 8, 2, 64, 1536)),
    /** Meta-Llama-3-8B-Instruct's exact shape: 8.03 B parameters, 16 GB of bf16. */
    LLAMA3_8B("llama3-8b", config(4096, 32, 32, 8, 128, 14336)),
    /**
     * Llama-3.2-1B-Instruct's shape: Llama 3.1's rope scaling (factor 32), tied embeddings, a 128k
     * context and its three end ids. 1.24 B parameters, 2.5 GB of bf16.
     */
    LLAMA32_1B("llama3.2-1b", new LlamaConfig(
            2048, 32, 8, 64, 8192, 16, 1e-5, 500000.0, new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192),
            128256, 131072, true, 128000, List.of(128001, 128008, 128009), "bfloat16")),
    /**
     * Llama-2-7b-chat's shape: no grouped-query attention, rope theta 10,000, 4k context and
     * SentencePiece's 32,000-token vocabulary (bos 1, eos 2), so Llama 3's tokenizer does not fit it.
     * 6.74 B parameters, 13.5 GB of bf16.
     */
    LLAMA2_7B("llama2-7b", new LlamaConfig(
            4096, 32, 32, 128, 11008, 32, 1e-5, 10000.0, null, 32000, 4096, false, 1, List.of(2), "float16"));

    /** Llama 3's vocabulary size: presets of this size take Llama 3's tokenizer. */
    public static final int LLAMA3_VOCAB = 128256;

    private final String cliName;
    private final LlamaConfig config;

    SyntheticPreset(String cliName, LlamaConfig config) {
        this.cliName = cliName;
        this.config = config;
    }

    private static LlamaConfig config(int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate) {
        // As Meta-Llama-3-8B-Instruct's config.json: eos is <|eot_id|>, rope theta 500k, 8k context.
        return new LlamaConfig(
                hidden, heads, kvHeads, headDim, intermediate, layers, 1e-5, 500000.0, null,
                128256, 8192, false, 128000, List.of(128009), "bfloat16");
    }

    public String cliName() {
        return cliName;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Parses {@code tiny}, {@code small}, {@code llama3-8b}, {@code llama3.2-1b} or {@code llama2-7b}. */
    public static SyntheticPreset parse(String name) {
        for (SyntheticPreset p : values()) {
            if (p.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new ConfigException("Unknown preset '" + name + "': choose one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(SyntheticPreset::cliName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
