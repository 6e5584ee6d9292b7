package dev.woq.runtime.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Publishing files all at once: write a hidden temporary sibling, fsync it, rename it over the
 * target. A reader then sees either the old file or the complete new one, never a partial one,
 * even after a crash.
 */
final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {}

    /**
     * A fresh name beside {@code target}, e.g. {@code .model.safetensors.tmp-3f9a...}: in the same
     * directory so that the final rename stays on one file system and is atomic, and hidden so
     * that a crash leaves nothing that looks like a checkpoint.
     */
    static Path tempSibling(Path target) {
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        return sibling(target, "." + target.getFileName() + ".tmp-" + HexFormat.of().formatHex(random));
    }

    /** Renames {@code from} onto {@code to} atomically, replacing it, and makes the rename durable. */
    static void publish(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(parentOf(to));
    }

    /** Writes {@code bytes} to {@code target} through a fsync'd temporary file and an atomic rename. */
    static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = tempSibling(target);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            publish(tmp, target);
        } finally {
            deleteQuietly(tmp); // no-op after a successful rename
        }
    }

    /**
     * Makes a rename in {@code dir} survive a power loss. Some platforms cannot open a directory
     * for fsync; there the rename is still atomic, only not yet durable, so that is not an error.
     */
    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort, see above
        }
    }

    /** Deletes {@code path} if it exists; cleanup after a failure must not hide the failure itself. */
    static void deleteQuietly(Path path) {
        if (path == null) {
            return;
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // the original error matters more; a stray hidden temp file is harmless
        }
    }

    static Path parentOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent != null ? parent : file.toAbsolutePath();
    }

    private static Path sibling(Path file, String name) {
        Path parent = file.getParent();
        return parent == null ? Path.of(name) : parent.resolve(name);
    }
}
