package dev.woq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With local[2,3] (three attempts per task) a task that fails once is retried: the same rows, the same values. */
class RetriedTaskTest {
    private static final StructType TEXT_ROWS = new StructType()
            .add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType, true);
    /** Attempts that reached the failing map, counted in this JVM (local mode: the executors are this JVM). */
    static final AtomicInteger failures = new AtomicInteger();
    private static SparkSession spark;
    private static Path tiny;

    @BeforeAll
    static void start() {
        spark = SparkTestModels.session("local[2,3]");
        tiny = SparkTestModels.tiny(SparkTestModels.tempDir(), "tiny");
    }

    @AfterAll
    static void stop() {
        spark.stop();
        SharedModels.closeAll();
    }

    @Test
    void aTaskThatFailsOnceGivesTheSameRowsAndValues() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create(i, "Tell me about row " + i + " and the river."));
        }
        Dataset<Row> input = spark.createDataFrame(rows, TEXT_ROWS).repartition(4);
        // Sampling, so the per-row seed matters: the retry must draw the same tokens.
        WoqSparkOptions options = WoqSparkOptions.builder().model(tiny.toString()).prompt("{text}")
                .maxNewTokens(6).temperature(0.9).seed(42).inFlight(4).threads(2).build();
        Map<Integer, Row> clean = WoqSparkTest.byId(WoqSpark.generate(input, options));

        Dataset<Row> generated = WoqSpark.generate(input, options);
        Dataset<Row> failingOnce = generated.map((MapFunction<Row, Row>) row -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 1 && task.attemptNumber() == 0) {
                failures.incrementAndGet();
                throw new IllegalStateException("injected failure of the first attempt of partition 1");
            }
            return row;
        }, generated.encoder());
        Map<Integer, Row> retried = WoqSparkTest.byId(failingOnce);

        assertEquals(1, failures.get(), "the first attempt of partition 1 failed, once");
        assertEquals(10, retried.size());
        assertEquals(clean.keySet(), retried.keySet());
        for (int id : clean.keySet()) {
            assertNull(retried.get(id).getAs("error"));
            assertEquals(clean.get(id).<String>getAs("completion"), retried.get(id).<String>getAs("completion"), "row " + id);
            assertEquals(clean.get(id).<Integer>getAs("completion_tokens"), retried.get(id).<Integer>getAs("completion_tokens"));
        }
    }
}
