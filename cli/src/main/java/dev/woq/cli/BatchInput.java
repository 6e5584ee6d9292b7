package dev.woq.cli;

import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Reads {@code woq batch}'s input as a Dataset: a .txt file split into numbered rows (columns
 * {@code file}, {@code id}, {@code title}, {@code text}), or a .jsonl, .csv or .parquet file with its
 * own columns; a directory holds files of one of these kinds.
 */
final class BatchInput {
    static final Set<String> KINDS = Set.of("txt", "jsonl", "csv", "parquet");
    private static final StructType TEXT_ROWS = new StructType()
            .add("file", DataTypes.StringType, false).add("id", DataTypes.IntegerType, false)
            .add("title", DataTypes.StringType, true).add("text", DataTypes.StringType, true);

    private BatchInput() {}

    static Dataset<Row> read(SparkSession spark, Path input, ChapterSplitter splitter) {
        if (!Files.exists(input)) {
            throw new WoqException("Input " + input + " does not exist");
        }
        List<Path> files = files(input);
        String kind = kind(input, files);
        return switch (kind) {
            case "txt" -> text(spark, files, splitter);
            case "jsonl" -> spark.read().json(paths(files));
            case "csv" -> spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"")
                    .csv(paths(files));
            case "parquet" -> spark.read().parquet(paths(files));
            default -> throw new IllegalStateException(kind);
        };
    }

    private static List<Path> files(Path input) {
        if (!Files.isDirectory(input)) {
            return List.of(input);
        }
        try (Stream<Path> list = Files.list(input)) {
            List<Path> files = list.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith(".") && !p.getFileName().toString().startsWith("_"))
                    .sorted().toList();
            if (files.isEmpty()) {
                throw new WoqException("Input directory " + input + " holds no files");
            }
            return files;
        } catch (IOException e) {
            throw new WoqException("Cannot list input directory " + input + ": " + e.getMessage(), e);
        }
    }

    private static String kind(Path input, List<Path> files) {
        Set<String> kinds = new TreeSet<>();
        for (Path f : files) {
            kinds.add(extension(f));
        }
        if (kinds.size() != 1 || !KINDS.contains(kinds.iterator().next())) {
            throw new WoqException("Input " + input + " is " + (kinds.size() == 1 ? "." + kinds.iterator().next() : "a mix of "
                    + kinds) + ": give .txt, .jsonl, .csv or .parquet files (a directory of one kind)");
        }
        return kinds.iterator().next();
    }

    static String extension(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    private static String[] paths(List<Path> files) {
        return files.stream().map(p -> p.toAbsolutePath().toString()).toArray(String[]::new);
    }

    /** Each file split by the heading regex. Bytes that are not UTF-8 become U+FFFD, which the row's error reports. */
    private static Dataset<Row> text(SparkSession spark, List<Path> files, ChapterSplitter splitter) {
        List<Row> rows = new ArrayList<>();
        for (Path f : files) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                        .onUnmappableCharacter(CodingErrorAction.REPLACE)
                        .decode(ByteBuffer.wrap(Files.readAllBytes(f))).toString();
            } catch (IOException e) {
                throw new WoqException("Cannot read input " + f + ": " + e.getMessage(), e);
            }
            for (ChapterSplitter.Part part : splitter.split(text)) {
                rows.add(RowFactory.create(f.getFileName().toString(), part.number(), part.heading(), part.text()));
            }
        }
        return spark.createDataFrame(rows, TEXT_ROWS);
    }
}
