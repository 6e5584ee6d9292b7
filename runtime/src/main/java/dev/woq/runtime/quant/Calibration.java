package dev.woq.runtime.quant;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.util.Digests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The calibration text of an activation-aware int4 recipe ({@code woq quantize --calibration FILE}):
 * the source model in bf16 reads up to {@code maxTokens} of its tokens, and each projection's
 * search weighs its inputs by their mean square on them ({@link ActivationImportance}). The recipe
 * records the file's name and SHA-256, so an entry made from another text is rebuilt, not reused.
 *
 * @param text the file (only its name is recorded)
 * @param sha256 the file's SHA-256, hex
 * @param maxTokens tokens of the text read at most, from its start
 */
public record Calibration(Path text, String sha256, int maxTokens) {
    /** Tokens read when none is asked for: eight windows of {@link #WINDOW}. */
    public static final int DEFAULT_MAX_TOKENS = 4096;
    /** Fewest tokens a calibration reads: fewer give each input's mean square from too few samples. */
    public static final int MIN_TOKENS = 64;
    /** Tokens per forward pass, each window starting at BOS, as the model is prompted. */
    public static final int WINDOW = 512;

    public Calibration {
        java.util.Objects.requireNonNull(text, "text");
        java.util.Objects.requireNonNull(sha256, "sha256");
        if (maxTokens < MIN_TOKENS) {
            throw new ConfigException("--calibration-tokens " + maxTokens + " is too few: give at least " + MIN_TOKENS
                    + " (default " + DEFAULT_MAX_TOKENS + ").");
        }
    }

    /**
     * The calibration of a text file, hashed now.
     *
     * @throws ConfigException when the file is missing, not a regular file, unreadable or empty
     */
    public static Calibration of(Path text, int maxTokens) {
        if (!Files.isRegularFile(text)) {
            throw new ConfigException("No calibration text at " + text + ": --calibration takes a UTF-8 text file like"
                    + " the prompts the model will see (a few thousand tokens of them).");
        }
        try {
            if (Files.size(text) == 0) {
                throw new ConfigException("The calibration text " + text + " is empty: give a UTF-8 text file with at"
                        + " least " + MIN_TOKENS + " tokens.");
            }
            return new Calibration(text, Digests.hashFile(text), maxTokens);
        } catch (IOException e) {
            throw new ConfigException("Cannot read the calibration text " + text + ": " + e.getMessage()
                    + ". Check its permissions.");
        }
    }

    /** {@code {"text":"notes.txt","sha256":"…","max_tokens":4096,"weighting":"input_mean_square * sqrt(sigma2 + w^2)"}}. */
    JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("text", String.valueOf(text.getFileName()));
        json.addProperty("sha256", sha256);
        json.addProperty("max_tokens", maxTokens);
        json.addProperty("weighting", WEIGHTING);
        return json;
    }

    /** What {@link #toJson()} wrote; {@code null} for none. */
    static Calibration fromJson(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonObject()) {
            throw new ConfigException("\"calibration\" is " + e + ", not an object. Quantize the model again.");
        }
        JsonObject o = e.getAsJsonObject();
        try {
            String weighting = o.get("weighting").getAsString();
            if (!WEIGHTING.equals(weighting)) {
                throw new ConfigException("\"calibration\" weighs by \"" + weighting + "\": this woq knows \"" + WEIGHTING
                        + "\". Quantize the model again, or use the woq that wrote it.");
            }
            return new Calibration(Path.of(o.get("text").getAsString()), o.get("sha256").getAsString(),
                    o.get("max_tokens").getAsInt());
        } catch (RuntimeException bad) {
            if (bad instanceof ConfigException c) {
                throw c;
            }
            throw new ConfigException("\"calibration\" is " + e + ": expected text, sha256, max_tokens and weighting."
                    + " Quantize the model again.");
        }
    }

    /** How the importance is computed, as the recipe records it. */
    static final String WEIGHTING = "input_mean_square * sqrt(sigma2 + w^2)";
}
