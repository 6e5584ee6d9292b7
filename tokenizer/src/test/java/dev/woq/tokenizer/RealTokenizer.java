package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real Llama 3 tokenizer for tests, loaded once per test JVM. Its path comes from the system
 * property {@code woq.tokenizer}, which the parent pom's Surefire configuration sets.
 *
 * <p>A missing file fails the tests instead of skipping them: a green build must mean the
 * tokenizer was actually checked against Meta's ids.
 */
final class RealTokenizer {

    private static Llama3Tokenizer instance;

    private RealTokenizer() {}

    static synchronized Llama3Tokenizer get() {
        if (instance == null) {
            Path path = path();
            if (!Files.isRegularFile(path)) {
                fail("Llama 3 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh"
                        + " first (tests read the path from system property woq.tokenizer)");
            }
            instance = Llama3Tokenizer.load(path);
        }
        return instance;
    }

    static Path path() {
        return TokenizerLocations.defaultTokenizerJson();
    }
}
