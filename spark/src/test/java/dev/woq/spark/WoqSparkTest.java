package dev.woq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link WoqSpark#generate} on a real local[2] SparkSession with a tiny synthetic checkpoint. */
class WoqSparkTest {
    private static final StructType TEXT_ROWS = new StructType()
            .add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, true);
    private static SparkSession spark;
    private static Path models;
    private static Path tiny;
    private static Path short64;

    @BeforeAll
    static void start() {
        spark = SparkTestModels.session("local[2]");
        models = SparkTestModels.tempDir();
        tiny = SparkTestModels.tiny(models, "tiny");
        short64 = SparkTestModels.tinyWithContext(models, "tiny-ctx64", 64);
    }

    @AfterAll
    static void stop() {
        spark.stop();
        SharedModels.closeAll();
    }

    private static WoqSparkOptions.Builder options(Path model) {
        return WoqSparkOptions.builder().model(model.toString()).prompt("Summarize: {text}")
                .maxNewTokens(4).inFlight(4).threads(2);
    }

    private static Dataset<Row> rows(int n, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(i, "Row number " + i + " is about the sea and the sky."));
        }
        return spark.createDataFrame(rows, TEXT_ROWS).repartition(partitions);
    }

    @Test
    void everyRowComesBackOnceWithItsCompletion() {
        List<Row> out = WoqSpark.generate(rows(12, 4), options(tiny).build()).collectAsList();
        assertEquals(12, out.size());
        Set<Integer> ids = new TreeSet<>();
        for (Row r : out) {
            ids.add(r.getInt(0));
            assertNull(r.getAs("error"), "row " + r.get(0));
            assertNotNull(r.getAs("completion"));
            int generated = r.<Integer>getAs("completion_tokens");
            assertTrue(generated >= 1 && generated <= 4, "completion_tokens " + generated);
            assertTrue(r.<Integer>getAs("prompt_tokens") > 10, "the chat format's tokens count too");
            assertTrue(Set.of("stop", "length").contains(r.<String>getAs("finish_reason")));
            assertTrue(r.<Long>getAs("ms") >= 0);
        }
        assertEquals(new TreeSet<>(java.util.stream.IntStream.range(0, 12).boxed().toList()), ids);
        assertEquals(List.of("id", "text", "completion", "prompt_tokens", "completion_tokens", "finish_reason", "error",
                "ms"), List.of(WoqSpark.generate(rows(1, 1), options(tiny).build()).schema().fieldNames()));
    }

    @Test
    void theModelIsLoadedOncePerJvmAcrossPartitionsAndJobs() {
        Path fresh = SparkTestModels.tiny(models, "tiny-counted");
        int before = SharedModels.loadCount();
        WoqSparkOptions options = options(fresh).build();
        assertEquals(16, WoqSpark.generate(rows(16, 8), options).filter("error is null").count());
        assertEquals(16, WoqSpark.generate(rows(16, 8), options).filter("error is null").count());
        assertEquals(before + 1, SharedModels.loadCount(), "8 partitions, 2 jobs, 2 concurrent tasks: one load");
    }

    @Test
    void badRowsGetAnErrorAndTheJobSucceeds() {
        String tooLong = "word ".repeat(200);
        List<Row> rows = List.of(
                RowFactory.create(0, "A short good row."),
                RowFactory.create(1, null),
                RowFactory.create(2, "   "),
                RowFactory.create(3, "broken \uFFFD bytes"),
                RowFactory.create(4, tooLong));
        Map<Integer, Row> out = byId(WoqSpark.generate(spark.createDataFrame(rows, TEXT_ROWS), options(short64).build()));
        assertEquals(5, out.size());
        assertNull(out.get(0).getAs("error"));
        assertNotNull(out.get(0).getAs("completion"));
        assertEquals("column 'text' is null", String.valueOf((Object) out.get(1).getAs("error")));
        assertEquals("column 'text' is empty", String.valueOf((Object) out.get(2).getAs("error")));
        assertTrue(out.get(3).<String>getAs("error").contains("U+FFFD"), String.valueOf((Object) out.get(3).getAs("error")));
        assertTrue(out.get(4).<String>getAs("error").contains("context holds 64"), String.valueOf((Object) out.get(4).getAs("error")));
        for (int id = 1; id <= 4; id++) {
            assertNull(out.get(id).getAs("completion"), "row " + id);
        }
    }

    @Test
    void invalidUtf8InABinaryColumnIsARowError() {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("body", DataTypes.BinaryType);
        List<Row> rows = List.of(
                RowFactory.create(0, "Fine text".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                RowFactory.create(1, new byte[] {'H', 'i', (byte) 0xC3, '('}));
        Map<Integer, Row> out = byId(WoqSpark.generate(spark.createDataFrame(rows, schema),
                options(tiny).prompt("Read: {body}").build()));
        assertNull(out.get(0).getAs("error"));
        assertEquals("column 'body' is not valid UTF-8 (at byte 2)", String.valueOf((Object) out.get(1).getAs("error")));
    }

    @Test
    void aMissingColumnFailsBeforeAnyWork() {
        int before = SharedModels.loadCount();
        WoqSparkException e = assertThrows(WoqSparkException.class,
                () -> WoqSpark.generate(rows(2, 1), options(tiny).prompt("Translate {body} into {lang}").build()));
        assertEquals("The prompt reads columns [body, lang] but the input has only [id, text]: fix the {column}"
                + " placeholders or the input", e.getMessage());
        assertEquals(before, SharedModels.loadCount());
    }

    @Test
    void aModelPathTheExecutorCannotReadIsOneErrorNamingHostAndPath() throws Exception {
        String missing = models.resolve("no-such-model").toString();
        Exception e = assertThrows(Exception.class,
                () -> WoqSpark.generate(rows(4, 2), options(Path.of(missing)).build()).collectAsList());
        WoqSparkException cause = WoqSparkExceptions.find(e);
        assertNotNull(cause, "the job's failure carries woq's error: " + e);
        String host = InetAddress.getLocalHost().getHostName();
        assertTrue(cause.getMessage().startsWith("Cannot load model '" + missing + "' (bf16) on host " + host),
                cause.getMessage());
    }

    @Test
    void truncateCutsTheTextToFitTheContext() {
        List<Row> rows = List.of(RowFactory.create(0, "word ".repeat(200)));
        Row r = WoqSpark.generate(spark.createDataFrame(rows, TEXT_ROWS),
                options(short64).longInput(LongInput.TRUNCATE).build()).first();
        assertNull(r.getAs("error"));
        assertTrue(r.<Integer>getAs("prompt_tokens") + 4 <= 64, "prompt_tokens " + r.getAs("prompt_tokens"));
        assertNotNull(r.getAs("completion"));
    }

    @Test
    void mapReduceSummarisesPartsThenTheirSummaries() {
        String longText = "The old lighthouse keeper watched the grey sea every night. ".repeat(12);
        List<Row> rows = List.of(RowFactory.create(0, longText), RowFactory.create(1, "A short row."),
                RowFactory.create(2, null));
        Map<Integer, Row> out = byId(WoqSpark.generate(spark.createDataFrame(rows, TEXT_ROWS),
                options(short64).longInput(LongInput.MAP_REDUCE).build()));
        assertEquals(3, out.size());
        Row reduced = out.get(0);
        assertNull(reduced.getAs("error"));
        assertNotNull(reduced.getAs("completion"));
        assertEquals(longText, reduced.getAs("text"), "the output keeps the row's own text");
        // Several map prompts and the reduce prompt: together far more than one context.
        assertTrue(reduced.<Integer>getAs("prompt_tokens") > 64 * 2, "prompt_tokens " + reduced.getAs("prompt_tokens"));
        assertTrue(reduced.<Integer>getAs("completion_tokens") > 4, "map and reduce completions add up");
        assertNull(out.get(1).getAs("error"));
        assertTrue(out.get(1).<Integer>getAs("completion_tokens") <= 4);
        assertEquals("column 'text' is null", String.valueOf((Object) out.get(2).getAs("error")));
    }

    static Map<Integer, Row> byId(Dataset<Row> result) {
        Map<Integer, Row> out = new HashMap<>();
        for (Row r : result.collectAsList()) {
            assertNull(out.put(r.getInt(0), r), "row " + r.get(0) + " came back twice");
        }
        return out;
    }
}
