package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.TokenizerLocations;
import java.nio.file.Files;
import java.nio.file.Path;

/** The tiny random-weight checkpoint with the real Llama 3 tokenizer, for the examples' tests. */
final class ExampleCheckpoints {
    private ExampleCheckpoints() {}

    static Path tiny(Path dir) {
        SyntheticCheckpoint.write(dir, SyntheticPreset.TINY.config(), 0, realTokenizer(),
                SyntheticCheckpoint.DEFAULT_SHARD_BYTES, SyntheticCheckpoint.Progress.NONE);
        return dir;
    }

    /** The real Llama 3 tokenizer; the parent pom's Surefire configuration sets woq.tokenizer. */
    static Path realTokenizer() {
        Path path = TokenizerLocations.defaultTokenizerJson();
        if (!Files.isRegularFile(path)) {
            fail("Llama 3 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh first"
                    + " (tests read the path from system property woq.tokenizer)");
        }
        return path;
    }
}
