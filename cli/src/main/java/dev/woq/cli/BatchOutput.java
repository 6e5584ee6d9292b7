package dev.woq.cli;

import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;

/**
 * Writes {@code woq batch}'s result as one .parquet or .jsonl file, atomically: Spark writes into
 * a hidden directory beside the output, then its single part file is renamed onto the output. A
 * failed or interrupted run leaves no half-written output (and an older output stays as it was).
 */
final class BatchOutput {
    private BatchOutput() {}

    static void checkKind(Path output) {
        String kind = BatchInput.extension(output);
        if (!kind.equals("parquet") && !kind.equals("jsonl")) {
            throw new WoqException("Output " + output + " must end in .parquet or .jsonl");
        }
        Path parent = output.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new WoqException("The output's directory " + parent + " does not exist: create it first");
        }
        if (Files.isDirectory(output)) {
            throw new WoqException("Output " + output + " is a directory: give a file name");
        }
    }

    /** Writes {@code result} (one partition) to {@code output}, replacing it. */
    static void write(Dataset<Row> result, Path output) {
        Path target = output.toAbsolutePath();
        Path aside = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            var writer = result.write().mode(SaveMode.ErrorIfExists);
            if (BatchInput.extension(target).equals("parquet")) {
                writer.parquet(aside.toString());
            } else {
                writer.option("ignoreNullFields", "false").json(aside.toString());
            }
            Path part = single(aside);
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new WoqException("Cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            delete(aside);
        }
    }

    private static Path single(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> parts = list.filter(p -> p.getFileName().toString().startsWith("part-")).toList();
            if (parts.size() != 1) {
                throw new IOException("expected one part file in " + dir + ", found " + parts.size());
            }
            return parts.get(0);
        }
    }

    private static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A hidden leftover beside the output; the output itself is whole.
        }
    }
}
