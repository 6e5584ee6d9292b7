package dev.woq.runtime.registry;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a registry entry: written last, so an entry is complete exactly when its
 * manifest exists. It records what was quantized, how, by which versions, and a SHA-256 of every
 * byte written: each tensor's data, each safetensors header, each other file whole.
 *
 * @param formatVersion {@link #FORMAT_VERSION}
 * @param model the registry's model name
 * @param recipe the quantization recipe as {@code QuantRecipe.toJson()} writes it
 * @param sourcePath the absolute path of the checkpoint that was quantized
 * @param sourceFingerprint {@link SourceFingerprint} of it then
 * @param tensors every tensor written
 * @param files every file of the entry but the manifest, with its size
 * @param versions library versions: woq, DJL, PyTorch
 * @param created when the entry was written
 * @param quantizeSeconds how long quantizing took (not counting hashing)
 */
public record Manifest(
        int formatVersion,
        String model,
        JsonObject recipe,
        String sourcePath,
        String sourceFingerprint,
        List<Tensor> tensors,
        List<FileInfo> files,
        Map<String, String> versions,
        Instant created,
        double quantizeSeconds) {

    public static final String FILE_NAME = "manifest.json";
    public static final int FORMAT_VERSION = 1;

    public Manifest {
        recipe = recipe.deepCopy();
        tensors = List.copyOf(tensors);
        files = List.copyOf(files);
        versions = Map.copyOf(versions);
    }

    @Override
    public JsonObject recipe() {
        return recipe.deepCopy();
    }

    /**
     * One tensor's data.
     *
     * @param offset absolute byte offset of its data in {@code file}
     * @param bytes its data's length
     * @param sha256 hex SHA-256 of its data
     */
    public record Tensor(String name, String dtype, List<Long> shape, String file, long offset, long bytes, String sha256) {
        public Tensor {
            shape = List.copyOf(shape);
        }
    }

    /**
     * One file of the entry.
     *
     * @param name its name in the entry directory
     * @param bytes its size
     * @param sha256 hex SHA-256 of the whole file; null for safetensors files (their tensors are hashed one by one)
     * @param headerSha256 hex SHA-256 of a safetensors file's first 8 + N bytes; null for other files
     * @param modified its last-modified time when the entry was written; null in manifests written
     *     before woq recorded it. Loading hashes a file in full only when this changed ({@link EntryCheck}).
     */
    public record FileInfo(String name, long bytes, String sha256, String headerSha256, Instant modified) {
        public boolean isSafetensors() {
            return headerSha256 != null;
        }
    }

    /** Sum of the sizes of the entry's files. */
    public long totalBytes() {
        return files.stream().mapToLong(FileInfo::bytes).sum();
    }

    /** Bytes of tensor data. */
    public long tensorBytes() {
        return tensors.stream().mapToLong(Tensor::bytes).sum();
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format_version", formatVersion);
        o.addProperty("model", model);
        o.add("recipe", recipe.deepCopy());
        JsonObject source = new JsonObject();
        source.addProperty("path", sourcePath);
        source.addProperty("fingerprint", sourceFingerprint);
        o.add("source", source);
        JsonObject lib = new JsonObject();
        versions.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> lib.addProperty(e.getKey(), e.getValue()));
        o.add("versions", lib);
        o.addProperty("created", created.toString());
        o.addProperty("quantize_seconds", quantizeSeconds);
        JsonArray fs = new JsonArray();
        for (FileInfo f : files) {
            JsonObject j = new JsonObject();
            j.addProperty("name", f.name());
            j.addProperty("bytes", f.bytes());
            if (f.sha256() != null) {
                j.addProperty("sha256", f.sha256());
            }
            if (f.headerSha256() != null) {
                j.addProperty("header_sha256", f.headerSha256());
            }
            if (f.modified() != null) {
                j.addProperty("modified", f.modified().toString());
            }
            fs.add(j);
        }
        o.add("files", fs);
        JsonArray ts = new JsonArray();
        for (Tensor t : tensors) {
            JsonObject j = new JsonObject();
            j.addProperty("name", t.name());
            j.addProperty("dtype", t.dtype());
            JsonArray shape = new JsonArray();
            t.shape().forEach(shape::add);
            j.add("shape", shape);
            j.addProperty("file", t.file());
            j.addProperty("offset", t.offset());
            j.addProperty("bytes", t.bytes());
            j.addProperty("sha256", t.sha256());
            ts.add(j);
        }
        o.add("tensors", ts);
        return o;
    }

    public String toJsonString() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(toJson()) + "\n";
    }

    /** Reads {@code dir/manifest.json}. */
    public static Manifest read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CheckpointException("Cannot read " + file + ": " + e.getMessage()
                    + ". The registry entry is incomplete or damaged: re-run `woq quantize --force`.", e);
        }
        try {
            return fromJson(JsonParser.parseString(text).getAsJsonObject());
        } catch (RuntimeException e) {
            throw new CheckpointException(file + " is not a valid woq manifest (" + e.getMessage()
                    + "). Re-run `woq quantize --force` to rebuild the entry.", e);
        }
    }

    public static Manifest fromJson(JsonObject o) {
        int version = o.get("format_version").getAsInt();
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException("format_version " + version + " is not " + FORMAT_VERSION
                    + " (written by another woq version)");
        }
        JsonObject source = o.getAsJsonObject("source");
        Map<String, String> versions = new LinkedHashMap<>();
        o.getAsJsonObject("versions").entrySet().forEach(e -> versions.put(e.getKey(), e.getValue().getAsString()));
        List<FileInfo> files = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("files")) {
            JsonObject j = e.getAsJsonObject();
            files.add(new FileInfo(j.get("name").getAsString(), j.get("bytes").getAsLong(),
                    j.has("sha256") ? j.get("sha256").getAsString() : null,
                    j.has("header_sha256") ? j.get("header_sha256").getAsString() : null,
                    j.has("modified") ? Instant.parse(j.get("modified").getAsString()) : null));
        }
        List<Tensor> tensors = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("tensors")) {
            JsonObject j = e.getAsJsonObject();
            List<Long> shape = new ArrayList<>();
            j.getAsJsonArray("shape").forEach(d -> shape.add(d.getAsLong()));
            tensors.add(new Tensor(j.get("name").getAsString(), j.get("dtype").getAsString(), shape,
                    j.get("file").getAsString(), j.get("offset").getAsLong(), j.get("bytes").getAsLong(),
                    j.get("sha256").getAsString()));
        }
        return new Manifest(version, o.get("model").getAsString(), o.getAsJsonObject("recipe"),
                source.get("path").getAsString(), source.get("fingerprint").getAsString(), tensors, files, versions,
                Instant.parse(o.get("created").getAsString()), o.get("quantize_seconds").getAsDouble());
    }
}
