package dev.woq.runtime.gguf;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What both vocabularies need to read and write Hugging Face's {@code tokenizer.json}. */
final class TokenizerJsonFiles {
    private TokenizerJsonFiles() {}

    /** The parsed file; a file that cannot be read or parsed is a {@link CheckpointException} naming it. */
    static JsonObject read(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("Cannot read the tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** A JSON object whose keys keep the order given: key, value, key, value... */
    static Map<String, Object> orderedMap(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
