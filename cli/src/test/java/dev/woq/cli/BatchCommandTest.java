package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq batch} end to end on an embedded local[2] Spark and a tiny checkpoint, its output read back. */
class BatchCommandTest {
    @TempDir
    static Path tmp;

    private static Path model;

    @BeforeAll
    static void writeTinyCheckpoint() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
    }

    private static Cli.Result batch(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("batch", "--model", model.toString(), "--master", "local[2]",
                "--threads", "2", "--max-new-tokens", "4"));
        all.addAll(List.of(args));
        return Cli.run(all.toArray(String[]::new));
    }

    @Test
    void aTextSplitByChapterHeadingGivesOneParquetRowPerChapter() throws IOException {
        Path book = Files.writeString(tmp.resolve("book.txt"), """
                THE LIGHTHOUSE

                A short story in three chapters.

                CHAPTER I. The Keeper
                The keeper climbed the stairs every night to light the lamp.

                CHAPTER II. The Storm
                A storm came from the west and the ships stayed in the harbour.

                CHAPTER III. Morning
                In the morning the sea was calm and the lamp went out.
                """);
        Path out = tmp.resolve("summaries.parquet");
        Cli.Result r = batch("--input", book.toString(), "--split-regex", "CHAPTER .+", "--output", out.toString(),
                "--prompt", "Summarize in one sentence:\\n{text}");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.err().contains("rows 4/4"), r::describe);

        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
            assertEquals(4, rows.size());
            assertEquals(List.of(0, 1, 2, 3), rows.stream().map(row -> row.<Integer>getAs("id")).toList());
            assertEquals("CHAPTER II. The Storm", rows.get(2).getAs("title"));
            assertEquals("A storm came from the west and the ships stayed in the harbour.", rows.get(2).getAs("text"));
            for (Row row : rows) {
                assertNull(row.getAs("error"), "row " + row.getAs("id"));
                assertTrue(row.<Integer>getAs("completion_tokens") >= 1);
                assertTrue(row.<String>getAs("completion") != null);
            }
        } finally {
            spark.stop();
        }
        assertNoLeftovers();
    }

    @Test
    void jsonLinesInGiveJsonLinesOutWithAnErrorPerBadRow() throws IOException {
        Path in = Files.writeString(tmp.resolve("tickets.jsonl"), """
                {"ticket": 1, "body": "The app crashes when I press save."}
                {"ticket": 2, "body": ""}
                {"ticket": 3, "body": "How do I export my data?"}
                """);
        Path out = tmp.resolve("labels.jsonl");
        Cli.Result r = batch("--input", in.toString(), "--output", out.toString(),
                "--prompt", "Classify as bug, question or request:\\n{body}", "--text-column", "body");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.err().contains("woq: wrote " + out + ": 3 rows, 1 with an error;"), r::describe);
        List<String> lines = Files.readAllLines(out);
        assertEquals(3, lines.size());
        for (int i = 0; i < 3; i++) {
            JsonObject o = JsonParser.parseString(lines.get(i)).getAsJsonObject();
            assertEquals(i + 1, o.get("ticket").getAsInt(), "input order kept");
            if (i == 1) {
                assertEquals("column 'body' is empty", o.get("error").getAsString());
                assertTrue(o.get("completion").isJsonNull());
            } else {
                assertTrue(o.get("error").isJsonNull(), lines.get(i));
                assertFalse(o.get("completion").getAsString().isEmpty() && o.get("completion_tokens").getAsInt() > 1);
                assertTrue(o.has("finish_reason") && o.has("ms") && o.get("prompt_tokens").getAsInt() > 10);
            }
        }
        assertNoLeftovers();
    }

    @Test
    void aPromptColumnTheInputLacksIsOneErrorAndNoOutput() throws IOException {
        Path in = Files.writeString(tmp.resolve("notes.jsonl"), "{\"note\": \"hello\"}\n");
        Path out = tmp.resolve("never.parquet");
        Cli.Result r = batch("--input", in.toString(), "--output", out.toString(), "--prompt", "{text}");
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("woq: The prompt reads column [text] but the input has only [note]"), r::describe);
        assertFalse(Files.exists(out));
    }

    /** Spark wrote aside: nothing hidden is left beside the outputs. */
    private static void assertNoLeftovers() throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            List<String> hidden = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), hidden);
        }
    }
}
