package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.safetensors.SafetensorsFile;
import dev.woq.runtime.safetensors.TensorInfo;
import dev.woq.runtime.util.Digests;
import dev.woq.runtime.util.Trees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Makes one registry entry: quantized into {@code .<name>.tmp-<random>}, described by a manifest
 * written last, fsync'd, then renamed into place; a crash, Ctrl-C or full disk leaves only the
 * hidden temporary directory, which the next build deletes ({@link #deleteLeftovers}).
 */
final class EntryBuilder {
    private static final SecureRandom RANDOM = new SecureRandom();

    private EntryBuilder() {}

    /** Temporary and replaced directories of this entry left by a crashed or killed run; we hold the lock. */
    static void deleteLeftovers(Path modelDir, String name, Consumer<String> log) {
        String tmpPrefix = "." + name + ".tmp-";
        String oldPrefix = "." + name + ".old-";
        try (Stream<Path> list = Files.list(modelDir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String f = p.getFileName().toString();
                if (f.startsWith(tmpPrefix) || f.startsWith(oldPrefix)) {
                    log.accept("deleting " + p + ", left by an interrupted woq quantize");
                    Trees.delete(p);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot clean up " + modelDir + ": " + e.getMessage()
                    + ". Check its permissions, or delete the hidden ." + name + ".tmp-* directories yourself.", e);
        }
    }

    /**
     * Quantizes {@code sourceDir} into a hidden temporary sibling of {@code finalDir}, writes the
     * manifest last, fsyncs, and renames it into place. The caller holds the entry's lock.
     */
    static Entry build(Path home, Path sourceDir, QuantRecipe recipe, String model, String fingerprint, Path modelDir,
            Path finalDir, Quantizer.Progress progress, Consumer<String> log) {
        String name = finalDir.getFileName().toString();
        Path tmp = modelDir.resolve("." + name + ".tmp-" + randomHex());
        createDirectory(home, tmp);
        boolean published = false;
        try (TempDirGuard guard = new TempDirGuard(tmp)) {
            long start = System.nanoTime();
            Quantizer.Report report = Quantizer.quantize(sourceDir, tmp, recipe, progress);
            double seconds = (System.nanoTime() - start) / 1e9;
            Manifest manifest = describe(tmp, model, recipe, sourceDir, fingerprint, seconds, report.tensorSha256());
            try {
                writeAndSync(tmp.resolve(Manifest.FILE_NAME), manifest.toJsonString().getBytes(StandardCharsets.UTF_8));
                Trees.fsyncFilesAndDir(tmp);
            } catch (IOException e) {
                throw new CheckpointException("Cannot write the registry entry in " + tmp + ": " + e.getMessage()
                        + ". Check free disk space and permissions under " + home + ".", e);
            }
            guard.beginPublish();
            publish(tmp, finalDir, modelDir);
            published = true;
            return new Entry(finalDir, model, recipe, manifest, manifest.totalBytes());
        } finally {
            if (!published) {
                Trees.deleteQuietly(tmp);
            }
        }
    }

    /** Renames the complete {@code tmp} to {@code finalDir}, replacing what is there in two atomic renames. */
    private static void publish(Path tmp, Path finalDir, Path modelDir) {
        Path old = null;
        try {
            if (Files.exists(finalDir, LinkOption.NOFOLLOW_LINKS)) {
                old = modelDir.resolve("." + finalDir.getFileName() + ".old-" + randomHex());
                Files.move(finalDir, old, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.move(tmp, finalDir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (old != null) {
                    try {
                        Files.move(old, finalDir, StandardCopyOption.ATOMIC_MOVE);
                        old = null;
                    } catch (IOException ignored) {
                        // the old entry stays in its hidden .old- directory; the next build deletes it
                    }
                }
                throw e;
            }
            Trees.fsyncDir(modelDir);
        } catch (AtomicMoveNotSupportedException e) {
            throw new CheckpointException("Cannot rename " + tmp + " to " + finalDir + " atomically (" + e.getMessage()
                    + "): the woq home must be on a local file system. Set --woq-home or WOQ_HOME.", e);
        } catch (IOException e) {
            throw new CheckpointException("Cannot move the new registry entry " + tmp + " to " + finalDir + ": "
                    + e.getMessage() + ". Check permissions under " + modelDir + ".", e);
        }
        if (old != null) {
            Trees.deleteQuietly(old);
        }
    }

    /**
     * Describes what the quantizer wrote into {@code dir}: tensor hashes as the quantizer computed
     * them while writing, headers and small files hashed here (kilobytes).
     */
    private static Manifest describe(Path dir, String model, QuantRecipe recipe, Path sourceDir, String fingerprint,
            double seconds, Map<String, String> tensorSha256) {
        List<Manifest.FileInfo> files = new ArrayList<>();
        List<Manifest.Tensor> tensors = new ArrayList<>();
        try {
            List<Path> all;
            try (Stream<Path> list = Files.list(dir)) {
                all = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .filter(p -> !p.getFileName().toString().equals(Manifest.FILE_NAME))
                        .sorted()
                        .toList();
            }
            for (Path p : all) {
                String fileName = p.getFileName().toString();
                long size = Files.size(p);
                if (fileName.endsWith(".safetensors")) {
                    SafetensorsFile st = SafetensorsFile.open(p);
                    String headerSha = Digests.hex(Digests.sha256().digest(SourceFingerprint.header(p, size)));
                    files.add(new Manifest.FileInfo(fileName, size, null, headerSha, EntryCheck.modified(p)));
                    for (TensorInfo t : st.tensors()) {
                        String sha = tensorSha256.get(t.name());
                        if (sha == null) {
                            throw new IllegalStateException("the quantizer reported no hash for '" + t.name() + "'");
                        }
                        tensors.add(new Manifest.Tensor(t.name(), t.dtype().name(), t.shape(), fileName,
                                t.fileOffset(), t.byteLength(), sha));
                    }
                } else {
                    files.add(new Manifest.FileInfo(fileName, size, Digests.hashFile(p), null, EntryCheck.modified(p)));
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot read back the quantized files in " + dir + ": " + e.getMessage()
                    + ". Check free disk space and permissions under " + dir.getParent() + ".", e);
        }
        Map<String, String> versions = new LinkedHashMap<>();
        versions.put("woq", ModelRegistry.woqVersion());
        versions.put("djl", ModelRegistry.DJL_VERSION);
        versions.put("pytorch", ModelRegistry.PYTORCH_VERSION);
        return new Manifest(Manifest.FORMAT_VERSION, model, recipe.toJson(),
                sourceDir.toAbsolutePath().normalize().toString(), fingerprint, tensors, files, versions,
                Instant.now().truncatedTo(ChronoUnit.MILLIS), Math.round(seconds * 1000) / 1000.0);
    }

    private static void writeAndSync(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private static void createDirectory(Path home, Path dir) {
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new CheckpointException("Cannot create " + dir + ": " + e.getMessage()
                    + ". Check free disk space and permissions under " + home + ".", e);
        }
    }

    static String randomHex() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Deletes the temporary directory if the JVM shuts down (Ctrl-C) while it is being built, and
     * makes sure that the deletion and the publishing rename never interleave.
     */
    private static final class TempDirGuard implements AutoCloseable {
        private final Path tmp;
        private final Thread hook;
        private boolean publishing;
        private boolean aborted;

        TempDirGuard(Path tmp) {
            this.tmp = tmp;
            this.hook = new Thread(this::onShutdown, "woq-registry-cleanup");
            try {
                Runtime.getRuntime().addShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the finally block of the build cleans up
            }
        }

        private void onShutdown() {
            synchronized (this) {
                if (publishing) {
                    return;
                }
                aborted = true;
            }
            Trees.deleteQuietly(tmp);
        }

        synchronized void beginPublish() {
            if (aborted) {
                throw new WoqException("woq is shutting down: the registry entry was not finished");
            }
            publishing = true;
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down
            }
        }
    }
}
