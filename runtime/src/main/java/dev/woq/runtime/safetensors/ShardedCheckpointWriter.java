package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Writes a checkpoint directory in Hugging Face's layout, split into shards of bounded size: one
 * {@code model.safetensors} when everything fits in one shard, else {@code
 * model-00001-of-0000K.safetensors} ... plus {@code model.safetensors.index.json}.
 *
 * <p>Tensors are declared up front and assigned to shards in order ({@link ShardPlan}); their data
 * is then streamed with {@link #writeTensor} in declaration order, exactly as with {@link
 * SafetensorsWriter}, which writes each shard. Shards stay as hidden temporary files until {@link
 * #commit}, which publishes them all and writes the index last, so a reader never finds an index
 * whose shards are missing. {@link #close} without a successful commit deletes every file this
 * writer made. Not thread-safe.
 *
 * <p>The directory must not already hold a safetensors checkpoint: old shards left beside new ones
 * (say, three old shards and two new) would make a mixed, wrong checkpoint, so this writer refuses
 * rather than guessing what to delete.
 */
public final class ShardedCheckpointWriter implements AutoCloseable {
    /** Hugging Face's default {@code max_shard_size}, 5 GB. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /** Single-file name, used when all tensors fit in one shard. */
    public static final String SINGLE_FILE_NAME = "model.safetensors";

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d+-of-\\d+\\.safetensors");

    private final Path directory;
    private final List<List<TensorDeclaration>> shards;
    private final List<Path> shardPaths = new ArrayList<>();
    private final Map<String, Integer> shardOf = new HashMap<>();
    private final Map<String, String> metadata;
    private final SafetensorsWriter[] writers;
    private final List<Path> published = new ArrayList<>();
    private final long totalSize;

    /** SHA-256 of each tensor's data, fed as it is written, so nobody has to read the files back to hash them. */
    private final TensorDigests digests = new TensorDigests();

    private int currentShard;
    private boolean committed;
    private boolean failed;

    /** A writer with shards of at most {@code maxShardBytes} data bytes and no {@code __metadata__}. */
    public ShardedCheckpointWriter(Path directory, List<TensorDeclaration> tensors, long maxShardBytes) {
        this(directory, tensors, maxShardBytes, Map.of());
    }

    /**
     * A writer for {@code tensors} into {@code directory} (created if missing), with shards of at
     * most {@code maxShardBytes} bytes of data (a larger tensor gets a shard of its own) and {@code
     * metadata} in every shard's header (Hugging Face transformers expects {@code format=pt}).
     *
     * @throws CheckpointException if the directory already holds a checkpoint or cannot be created,
     *     a tensor is declared twice, or {@code maxShardBytes} is not positive
     */
    public ShardedCheckpointWriter(Path directory, List<TensorDeclaration> tensors, long maxShardBytes,
            Map<String, String> metadata) {
        this.directory = directory;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        long total = 0;
        for (TensorDeclaration t : tensors) {
            if (shardOf.put(t.name(), -1) != null) {
                throw new CheckpointException("Cannot write a checkpoint to " + directory + ": tensor '" + t.name()
                        + "' is declared twice. Declare each tensor once.");
            }
            total += t.byteLength();
        }
        this.totalSize = total;
        this.shards = ShardPlan.split(tensors, maxShardBytes);
        for (int s = 0; s < shards.size(); s++) {
            String name = shards.size() == 1 ? SINGLE_FILE_NAME : ShardPlan.shardName(s, shards.size());
            shardPaths.add(directory.resolve(name));
            for (TensorDeclaration t : shards.get(s)) {
                shardOf.put(t.name(), s);
            }
        }
        this.writers = new SafetensorsWriter[shards.size()];
        prepareDirectory();
    }

    private void prepareDirectory() {
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new CheckpointException("Cannot create checkpoint directory " + directory + ": " + e
                    + ". Check the path and permissions.", e);
        }
        List<String> existing = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                if (n.equals(SINGLE_FILE_NAME) || n.equals(CheckpointIndex.FILE_NAME) || SHARD_NAME.matcher(n).matches()) {
                    existing.add(n);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot list checkpoint directory " + directory + ": " + e + ".", e);
        }
        if (!existing.isEmpty()) {
            existing.sort(null);
            throw new CheckpointException("Cannot write a checkpoint to " + directory + ": it already holds one ("
                    + Fmt.names(existing, 5) + "), and old files left beside new ones would make a mixed checkpoint."
                    + " Delete them or choose another directory.");
        }
    }

    /**
     * Appends the remaining bytes of {@code data} to tensor {@code name}; same contract as {@link
     * SafetensorsWriter#writeTensor}: declaration order, each tensor complete before the next
     * begins. Finishing a shard's last tensor and starting the next shard's closes the finished
     * shard's file.
     *
     * @throws CheckpointException on misuse or an I/O error; every file of this writer is deleted
     */
    public void writeTensor(String name, ByteBuffer data) {
        requireOpen();
        Integer shard = shardOf.get(name);
        if (shard == null) {
            throw fail(new CheckpointException("Cannot write a checkpoint to " + directory + ": tensor '" + name
                    + "' was not declared (" + Fmt.num(shardOf.size()) + " tensors were). Nothing was written."));
        }
        if (shard < currentShard) {
            throw fail(new CheckpointException("Cannot write a checkpoint to " + directory + ": tensor '" + name
                    + "' belongs to shard " + shardPaths.get(shard).getFileName() + ", which is already finished;"
                    + " tensors must be written in declaration order. Nothing was written."));
        }
        try {
            while (currentShard < shard) {
                writer(currentShard).finish();
                currentShard++;
            }
            ByteBuffer hashed = data.duplicate();
            writer(shard).writeTensor(name, data);
            digests.update(name, hashed);
        } catch (CheckpointException e) {
            throw fail(e);
        }
    }

    /**
     * Checks that every tensor is complete, publishes every shard, then writes the index (when
     * there is more than one shard). After this, {@link #close} leaves the files in place.
     *
     * @throws CheckpointException if a tensor is incomplete or on an I/O error; every file of this
     *     writer is then deleted
     */
    public void commit() {
        requireOpen();
        try {
            for (; currentShard < shards.size(); currentShard++) {
                writer(currentShard).finish();
            }
            for (int s = 0; s < shards.size(); s++) {
                writers[s].publish();
                published.add(shardPaths.get(s));
            }
            if (shards.size() > 1) {
                Path index = directory.resolve(CheckpointIndex.FILE_NAME);
                try {
                    CheckpointIndex.write(index, totalSize, weightMap());
                } catch (IOException e) {
                    throw new CheckpointException("Could not write " + index + ": " + e + ". Check free disk space and"
                            + " permissions; the shards written were deleted.", e);
                }
            }
        } catch (CheckpointException e) {
            throw fail(e);
        }
        committed = true;
    }

    /** Deletes every file this writer made unless {@link #commit} succeeded. Safe to call twice. */
    @Override
    public void close() {
        if (!committed) {
            abort();
        }
    }

    /**
     * Hex SHA-256 of the data of every tensor written, by name, computed from the bytes as they
     * were handed to {@link #writeTensor} (a tensor of no bytes gets the hash of nothing).
     */
    public Map<String, String> tensorSha256() {
        Map<String, String> out = new LinkedHashMap<>();
        for (List<TensorDeclaration> shard : shards) {
            for (TensorDeclaration t : shard) {
                out.put(t.name(), digests.hex(t.name()));
            }
        }
        return out;
    }

    /** The files the checkpoint will consist of, shards first, then the index if there is one. */
    public List<Path> files() {
        List<Path> files = new ArrayList<>(shardPaths);
        if (shards.size() > 1) {
            files.add(directory.resolve(CheckpointIndex.FILE_NAME));
        }
        return List.copyOf(files);
    }

    /** The number of shard files. */
    public int shardCount() {
        return shards.size();
    }

    /** Bytes of tensor data over all shards: the index's {@code total_size}. */
    public long totalSize() {
        return totalSize;
    }

    private SafetensorsWriter writer(int shard) {
        if (writers[shard] == null) {
            writers[shard] = new SafetensorsWriter(shardPaths.get(shard), shards.get(shard), metadata);
        }
        return writers[shard];
    }

    private Map<String, String> weightMap() {
        Map<String, String> map = new LinkedHashMap<>();
        for (int s = 0; s < shards.size(); s++) {
            String file = shardPaths.get(s).getFileName().toString();
            for (TensorDeclaration t : shards.get(s)) {
                map.put(t.name(), file);
            }
        }
        return map;
    }

    private void requireOpen() {
        if (committed || failed) {
            throw new CheckpointException("Cannot write a checkpoint to " + directory + ": the writer is "
                    + (committed ? "already committed" : "closed or failed earlier") + ". Start a new writer.");
        }
    }

    private CheckpointException fail(CheckpointException e) {
        abort();
        return e;
    }

    private void abort() {
        failed = true;
        for (SafetensorsWriter w : writers) {
            if (w != null) {
                w.close(); // deletes its temporary file; leaves a published one, removed below
            }
        }
        for (Path p : published) {
            AtomicFiles.deleteQuietly(p);
        }
        published.clear();
    }
}
