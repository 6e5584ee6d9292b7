package dev.woq.runtime.model;

import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.TokenizerLocations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Synthetic checkpoints written once per test JVM and shared by the tests that read them. */
public final class TestCheckpoints {
    /** Large enough that attention is sharp: a wrong rotation or mask changes the top tokens. */
    static final double WEIGHT_STD = 0.1;
    private static final Map<String, Path> written = new HashMap<>();

    private TestCheckpoints() {}

    /** The tiny preset: Llama 3 8B's layout, two narrow layers. */
    public static synchronized Path tiny() {
        return write("tiny", SyntheticPreset.TINY.config());
    }

    /** Tiny with Llama 3.1's rope scaling, tied embeddings and a two-element eos list. */
    public static synchronized Path tinyLlama31Tied() {
        LlamaConfig t = SyntheticPreset.TINY.config();
        LlamaConfig c = new LlamaConfig(
                t.hiddenSize(), t.numHeads(), t.numKvHeads(), t.headDim(), t.intermediateSize(), t.numLayers(),
                t.rmsNormEps(), t.ropeTheta(), new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 8192),
                t.vocabSize(), 131072, true, t.bosTokenId(), List.of(128001, 128009), t.torchDtype());
        return write("tiny31", c);
    }

    /** Tiny with Llama 3.2's settings: rope scaling factor 32, tied embeddings, 128k context, three end ids. */
    public static synchronized Path tinyLlama32Tied() {
        LlamaConfig t = SyntheticPreset.TINY.config();
        LlamaConfig l32 = SyntheticPreset.LLAMA32_1B.config();
        LlamaConfig c = new LlamaConfig(
                t.hiddenSize(), t.numHeads(), t.numKvHeads(), t.headDim(), t.intermediateSize(), t.numLayers(),
                l32.rmsNormEps(), l32.ropeTheta(), l32.ropeScaling(), l32.vocabSize(), l32.maxPositionEmbeddings(),
                l32.tieWordEmbeddings(), l32.bosTokenId(), l32.eosTokenIds(), l32.torchDtype());
        return write("tiny32", c);
    }

    /** Tiny with Llama 2's settings: no grouped-query attention, rope theta 10,000, 32,000 tokens, bos 1, eos 2. */
    public static synchronized Path tinyLlama2() {
        LlamaConfig t = SyntheticPreset.TINY.config();
        LlamaConfig l2 = SyntheticPreset.LLAMA2_7B.config();
        LlamaConfig c = new LlamaConfig(
                t.hiddenSize(), t.numHeads(), t.numHeads(), t.headDim(), t.intermediateSize(), t.numLayers(),
                l2.rmsNormEps(), l2.ropeTheta(), null, l2.vocabSize(), l2.maxPositionEmbeddings(), false,
                l2.bosTokenId(), l2.eosTokenIds(), "bfloat16");
        return write("tiny2", c);
    }

    /**
     * Tiny's weights under a config.json whose context holds {@code maxPositions} and whose eos ids
     * are {@code eosTokenIds}. The weight files are linked (or copied where links are refused).
     */
    public static synchronized Path tinyWith(int maxPositions, List<Integer> eosTokenIds) {
        Path tiny = tiny();
        LlamaConfig t = LlamaConfig.load(tiny);
        LlamaConfig c = new LlamaConfig(
                t.hiddenSize(), t.numHeads(), t.numKvHeads(), t.headDim(), t.intermediateSize(), t.numLayers(),
                t.rmsNormEps(), t.ropeTheta(), t.ropeScaling(), t.vocabSize(), maxPositions, t.tieWordEmbeddings(),
                t.bosTokenId(), eosTokenIds, t.torchDtype());
        String name = "tiny-ctx" + maxPositions + "-eos" + eosTokenIds.toString().replaceAll("[^0-9]+", "_");
        return written.computeIfAbsent(name, n -> {
            try {
                Path root = Files.createTempDirectory("woq-test-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(root)));
                Path dir = Files.createDirectory(root.resolve(n));
                try (var files = Files.list(tiny)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Path target = dir.resolve(f.getFileName());
                        if (f.getFileName().toString().equals(LlamaConfig.FILE_NAME)) {
                            Files.writeString(target, c.toJson());
                        } else {
                            try {
                                Files.createSymbolicLink(target, f.toAbsolutePath());
                            } catch (UnsupportedOperationException | IOException e) {
                                Files.copy(f, target);
                            }
                        }
                    }
                }
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * {@code model}'s files linked into {@code out} (created) beside copies of the real Llama 3
     * tokenizer's files (what {@code scripts/fetch-tokenizer.sh} caches): a checkpoint that
     * tokenizes text, for tests that need the tokenizer beside the weights.
     */
    public static Path withTokenizer(Path model, Path out) {
        try {
            Files.createDirectories(out);
            try (var files = Files.list(model)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.createSymbolicLink(out.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
            Path tokenizer = TokenizerLocations.requireDefaultTokenizerJson();
            Files.copy(tokenizer, out.resolve("tokenizer.json"));
            Path config = tokenizer.resolveSibling("tokenizer_config.json");
            if (Files.isRegularFile(config)) {
                Files.copy(config, out.resolve("tokenizer_config.json"));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Tiny's weights with a context of {@code maxPositions}. */
    public static Path tinyWithContext(int maxPositions) {
        return tinyWith(maxPositions, SyntheticPreset.TINY.config().eosTokenIds());
    }

    private static Path write(String name, LlamaConfig config) {
        return written.computeIfAbsent(name, n -> {
            try {
                Path root = Files.createTempDirectory("woq-test-");
                root.toFile().deleteOnExit();
                Path dir = root.resolve(n);
                SyntheticCheckpoint.write(dir, config, 7, WEIGHT_STD, null, SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(root)));
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static void deleteTree(Path root) {
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp files; the OS cleans up eventually
        }
    }
}
