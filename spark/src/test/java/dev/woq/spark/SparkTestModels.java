package dev.woq.spark;

import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.TokenizerLocations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** Tiny random-weight checkpoints with the real Llama 3 tokenizer, and the tests' SparkSession. */
final class SparkTestModels {
    private SparkTestModels() {}

    /** A new tiny checkpoint in its own directory (so a test can count its one load). */
    static Path tiny(Path parent, String name) {
        return write(parent.resolve(name), SyntheticPreset.TINY.config());
    }

    /** Tiny with a context of {@code maxPositions} tokens, for rows longer than it. */
    static Path tinyWithContext(Path parent, String name, int maxPositions) {
        LlamaConfig t = SyntheticPreset.TINY.config();
        return write(parent.resolve(name), new LlamaConfig(
                t.hiddenSize(), t.numHeads(), t.numKvHeads(), t.headDim(), t.intermediateSize(), t.numLayers(),
                t.rmsNormEps(), t.ropeTheta(), t.ropeScaling(), t.vocabSize(), maxPositions, t.tieWordEmbeddings(),
                t.bosTokenId(), t.eosTokenIds(), t.torchDtype()));
    }

    static Path tempDir() {
        try {
            Path dir = Files.createTempDirectory("woq-spark-test-");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A local session without the UI; {@code master} as {@code local[2]} or {@code local[2,3]}. */
    static SparkSession session(String master) {
        return SparkSession.builder().master(master).appName("woq-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    private static Path write(Path dir, LlamaConfig config) {
        SyntheticCheckpoint.write(dir, config, 0, realTokenizer(), SyntheticCheckpoint.DEFAULT_SHARD_BYTES,
                SyntheticCheckpoint.Progress.NONE);
        return dir;
    }

    /** The real Llama 3 tokenizer; the parent pom's Surefire configuration sets woq.tokenizer. */
    static Path realTokenizer() {
        Path path = TokenizerLocations.defaultTokenizerJson();
        if (!Files.isRegularFile(path)) {
            fail("Llama 3 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh first");
        }
        return path;
    }
}
