package dev.woq.runtime.quant;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The free-space check before quantizing: what the quantized checkpoint will take, against what
 * the target's file system has free for this user, so a run that cannot fit fails in a second,
 * naming both figures, rather than after minutes with a disk full (which still leaves nothing
 * behind, but wastes the time and can starve other programs of space meanwhile).
 */
final class OutputSpace {
    /**
     * A bound on one tensor's entry in a safetensors JSON header (name, dtype, shape and offsets
     * take about 100-150 bytes for Llama's names), plus alignment padding.
     */
    static final long HEADER_BYTES_PER_TENSOR = 256;
    /** The index, the recipe file and a file system's per-file rounding. */
    static final long SLACK_BYTES = 1 << 20;

    private OutputSpace() {}

    /** Bytes the quantizer writes for {@code outputs} plus the files it copies from {@code sourceDir}. */
    static long expectedBytes(List<TensorDeclaration> outputs, Path sourceDir, List<String> copiedFiles) {
        long bytes = SLACK_BYTES;
        for (TensorDeclaration t : outputs) {
            bytes += t.byteLength() + HEADER_BYTES_PER_TENSOR;
        }
        for (String name : copiedFiles) {
            Path p = sourceDir.resolve(name);
            try {
                if (Files.isRegularFile(p)) {
                    bytes += Files.size(p);
                }
            } catch (IOException e) {
                // the copy itself reports an unreadable file, with its path
            }
        }
        return bytes;
    }

    /**
     * @throws CheckpointException when {@code targetDir}'s file system has less than {@code needed}
     *     bytes usable, naming the directory, both figures, and {@code what} is being written
     */
    static void require(Path targetDir, long needed, String what) {
        long usable;
        FileStore store;
        try {
            store = Files.getFileStore(targetDir);
            usable = store.getUsableSpace();
        } catch (IOException e) {
            throw new CheckpointException("Cannot tell the free space in " + targetDir + ": " + e.getMessage()
                    + ". Check that it exists and is readable.", e);
        }
        if (usable < needed) {
            throw new CheckpointException(String.format(Locale.ROOT, "Not enough free disk space for %s: it writes"
                    + " about %s into %s, and that file system (%s) has %s free. Free %s there, or write the"
                    + " registry to another disk with --woq-home or WOQ_HOME.", what, mb(needed), targetDir,
                    store.name(), mb(usable), mb(needed - usable)));
        }
    }

    static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
