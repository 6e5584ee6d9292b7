package dev.woq.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The weight files of a checkpoint directory or registry entry. */
final class WeightFiles {
    private WeightFiles() {}

    /** Bytes of the {@code *.safetensors} files directly in {@code dir}. */
    static long bytes(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.getFileName().toString().endsWith(".safetensors")) {
                    total += Files.size(f);
                }
            }
            return total;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the weight files in " + dir, e);
        }
    }
}
