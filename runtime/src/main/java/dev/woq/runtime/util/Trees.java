package dev.woq.runtime.util;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Deleting and syncing directory trees. */
public final class Trees {
    private Trees() {}

    /** Deletes {@code dir} and everything under it; no-op if it does not exist. */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(dir)) {
            all = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
    }

    /** As {@link #delete}, ignoring failures: for cleanup that must not hide the original error. */
    public static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                delete(dir);
                return;
            } catch (IOException | RuntimeException e) {
                // a writer may still be adding files: try again, then give up (the next run cleans up)
            }
        }
    }

    /** Fsyncs every regular file directly in {@code dir}, then {@code dir} itself. */
    public static void fsyncFilesAndDir(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    fsyncFilesAndDir(f);
                }
            }
        }
        fsyncDir(dir);
    }

    /** Makes renames in {@code dir} durable; best effort where directories cannot be opened. */
    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // the rename stays atomic, only not yet durable
        }
    }
}
