package dev.woq.runtime.safetensors;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code model.safetensors.index.json}, the file that tells which shard holds each tensor of a
 * sharded checkpoint: {@code {"metadata": {"total_size": N}, "weight_map": {tensor: shard}}}.
 */
final class CheckpointIndex {
    static final String FILE_NAME = "model.safetensors.index.json";

    private CheckpointIndex() {}

    /**
     * The weight map of the index at {@code index}, in file order; every shard name is checked to
     * be a plain file name in the index's own directory.
     */
    static Map<String, String> readWeightMap(Path index) {
        String text;
        try {
            text = Files.readString(index, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CheckpointException("Could not read " + index + ": " + e + ". Check the file and its permissions.", e);
        }
        JsonElement root;
        try {
            root = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw new CheckpointException(index + " is not valid JSON (" + e.getMessage() + "). Re-download it.", e);
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("weight_map")
                || !root.getAsJsonObject().get("weight_map").isJsonObject()) {
            throw new CheckpointException(index + " has no \"weight_map\" object, so it does not say which shard holds"
                    + " which tensor. Re-download it.");
        }
        JsonObject weightMap = root.getAsJsonObject().getAsJsonObject("weight_map");
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw new CheckpointException(index + " maps tensor '" + e.getKey() + "' to " + v
                        + ", not to a shard file name. Re-download it.");
            }
            String shard = v.getAsString();
            if (!isPlainFileName(shard)) {
                throw new CheckpointException(index + " maps tensor '" + e.getKey() + "' to '" + shard + "', which is"
                        + " not a file name in the index's directory. Shards must lie beside the index.");
            }
            result.put(e.getKey(), shard);
        }
        if (result.isEmpty()) {
            throw new CheckpointException(index + " has an empty weight_map: it names no tensors. Re-download it.");
        }
        return Collections.unmodifiableMap(result);
    }

    private static boolean isPlainFileName(String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            return false;
        }
        try {
            Path p = Path.of(name);
            return !p.isAbsolute() && p.getNameCount() == 1;
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /** Writes the index atomically, pretty-printed as Hugging Face does. */
    static void write(Path index, long totalSize, Map<String, String> weightMap) throws IOException {
        JsonObject root = new JsonObject();
        JsonObject metadata = new JsonObject();
        metadata.addProperty("total_size", totalSize);
        root.add("metadata", metadata);
        JsonObject map = new JsonObject();
        weightMap.forEach(map::addProperty);
        root.add("weight_map", map);
        String json = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
        AtomicFiles.writeAtomically(index, json.getBytes(StandardCharsets.UTF_8));
    }
}
