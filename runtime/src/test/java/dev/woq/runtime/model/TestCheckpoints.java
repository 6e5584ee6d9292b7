package dev.woq.runtime.model;

import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
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
