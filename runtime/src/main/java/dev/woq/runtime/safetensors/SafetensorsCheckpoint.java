package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model directory's safetensors weights, in Hugging Face's layout: either one {@code
 * model.safetensors}, or shards listed by {@code model.safetensors.index.json}. Every file's header
 * is read and validated by {@link #open}; the data stays on disk, located by each {@link
 * TensorInfo}'s file and offset. Immutable.
 */
public final class SafetensorsCheckpoint {
    /** How many missing names an error lists before it says "and N more". */
    private static final int NAMES_SHOWN = 10;

    private final Path directory;
    private final List<SafetensorsFile> files;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsCheckpoint(Path directory, List<SafetensorsFile> files, Map<String, TensorInfo> tensors) {
        this.directory = directory;
        this.files = files;
        this.tensors = tensors;
    }

    /**
     * Opens the checkpoint in {@code directory}: the shards its {@code model.safetensors.index.json}
     * names if it has one, else its {@code model.safetensors}.
     *
     * @throws CheckpointException if neither exists, a shard the index names is missing or invalid,
     *     or a tensor the index lists is not in its shard; the message names the files and tensors
     */
    public static SafetensorsCheckpoint open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException(Files.exists(directory)
                    ? directory + " is a file, not a model directory. Pass the directory that holds model.safetensors"
                            + " or model.safetensors.index.json."
                    : "Model directory " + directory + " does not exist. Check the path.");
        }
        Path index = directory.resolve(CheckpointIndex.FILE_NAME);
        if (Files.exists(index)) {
            return openSharded(directory, index);
        }
        Path single = directory.resolve(ShardedCheckpointWriter.SINGLE_FILE_NAME);
        if (Files.exists(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            file.tensors().forEach(t -> tensors.put(t.name(), t));
            return new SafetensorsCheckpoint(directory, List.of(file), Collections.unmodifiableMap(tensors));
        }
        List<String> others = otherSafetensorsFiles(directory);
        throw new CheckpointException("No " + ShardedCheckpointWriter.SINGLE_FILE_NAME + " or " + CheckpointIndex.FILE_NAME
                + " in " + directory + (others.isEmpty() ? "" : " (it has " + Fmt.names(others, 5) + ", but without an"
                        + " index woq cannot tell which files form the model)")
                + ". Download the model's safetensors weights with their index, in Hugging Face's layout.");
    }

    private static SafetensorsCheckpoint openSharded(Path directory, Path index) {
        Map<String, String> weightMap = CheckpointIndex.readWeightMap(index);
        // Shards in the order they first appear in the index, each opened once.
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            String shardName = e.getValue();
            if (!shards.containsKey(shardName)) {
                Path shard = directory.resolve(shardName);
                if (!Files.exists(shard)) {
                    long needing = weightMap.values().stream().filter(shardName::equals).count();
                    throw new CheckpointException("Shard " + shard + " is missing: " + index + " says it holds tensor '"
                            + e.getKey() + "'" + (needing > 1 ? " and " + Fmt.num(needing - 1) + " more" : "")
                            + ". Download the missing shard.");
                }
                shards.put(shardName, SafetensorsFile.open(shard));
            }
        }
        // The index decides which tensors exist; tensors a shard holds that the index omits are ignored,
        // as Hugging Face's loaders ignore them. Listed in shard order, then file order: disk order.
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (SafetensorsFile shard : shards.values()) {
            String shardName = shard.path().getFileName().toString();
            for (TensorInfo t : shard.tensors()) {
                if (shardName.equals(weightMap.get(t.name()))) {
                    tensors.put(t.name(), t);
                }
            }
        }
        if (tensors.size() != weightMap.size()) {
            List<String> absent = new ArrayList<>();
            String firstShard = null;
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                if (!tensors.containsKey(e.getKey())) {
                    absent.add(e.getKey());
                    firstShard = firstShard == null ? e.getValue() : firstShard;
                }
            }
            String first = absent.get(0);
            throw new CheckpointException(index + " lists tensor '" + first + "' in shard " + directory.resolve(firstShard)
                    + ", but that shard does not hold it" + (absent.size() > 1 ? " (" + Fmt.num(absent.size())
                            + " tensors are absent from their shards: " + Fmt.names(absent, NAMES_SHOWN) + ")" : "")
                    + ". The index and shards come from different downloads: download them again together.");
        }
        return new SafetensorsCheckpoint(directory, List.copyOf(shards.values()), Collections.unmodifiableMap(tensors));
    }

    private static List<String> otherSafetensorsFiles(Path directory) {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.safetensors")) {
            files.forEach(f -> names.add(f.getFileName().toString()));
        } catch (IOException e) {
            // only used to make the message more helpful
        }
        names.sort(null);
        return names;
    }

    /**
     * The tensor named {@code name}.
     *
     * @throws CheckpointException if the checkpoint has no such tensor, naming it and the directory
     */
    public TensorInfo tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException("Checkpoint " + directory + " has no tensor '" + name + "' (it has "
                    + Fmt.num(tensors.size()) + " tensors). Check that it holds the model its config.json describes.");
        }
        return t;
    }

    /** Whether the checkpoint has a tensor named {@code name}. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** All tensor names, in disk order (shard by shard, then by offset). Immutable. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** All tensors, in disk order. Immutable. */
    public Collection<TensorInfo> tensors() {
        return tensors.values();
    }

    /**
     * Checks that every one of {@code names} is present.
     *
     * @throws CheckpointException listing the missing names (the first few, and how many in all)
     */
    public void requireAll(Collection<String> names) {
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            if (!tensors.containsKey(n)) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("Checkpoint " + directory + " lacks " + Fmt.num(missing.size()) + " of the "
                    + Fmt.num(names.size()) + " tensors the model needs: " + Fmt.names(missing, NAMES_SHOWN)
                    + ". Check that it holds the model its config.json describes, and that its download is complete.");
        }
    }

    /** The safetensors files, in index order (or the single file). */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    /** The validated headers of the files, in the order of {@link #files()}. */
    public List<SafetensorsFile> safetensorsFiles() {
        return files;
    }

    /** Bytes of tensor data over all the checkpoint's tensors, headers excluded (as the index's total_size). */
    public long totalBytes() {
        long total = 0;
        for (TensorInfo t : tensors.values()) {
            total += t.byteLength();
        }
        return total;
    }

    /** The model directory. */
    public Path directory() {
        return directory;
    }

    @Override
    public String toString() {
        return "SafetensorsCheckpoint[" + directory + ", " + files.size() + " files, " + tensors.size() + " tensors]";
    }
}
