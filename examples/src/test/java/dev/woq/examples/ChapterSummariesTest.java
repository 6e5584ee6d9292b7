package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ChapterSummaries} on the Alice excerpts: three chapters in, three summarized rows in Parquet. */
class ChapterSummariesTest {
    @TempDir
    Path tmp;

    @Test
    void eachChapterOfTheBookBecomesASummarizedParquetRow() throws Exception {
        Path model = ExampleCheckpoints.tiny(tmp.resolve("tiny"));
        Path out = tmp.resolve("summaries.parquet");
        SparkSession spark = SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            assertEquals(3, ChapterSummaries.run(spark, model.toString(), Path.of("data/alice-excerpts.txt"), out, 4));
            List<Row> rows = spark.read().parquet(out.toString()).orderBy("chapter").collectAsList();
            assertEquals(List.of("CHAPTER I. Down the Rabbit-Hole", "CHAPTER II. The Pool of Tears",
                    "CHAPTER III. A Caucus-Race and a Long Tale"), rows.stream().map(r -> r.<String>getAs("title")).toList());
            for (Row r : rows) {
                assertNull(r.getAs("error"), "chapter " + r.getAs("chapter"));
                assertNotNull(r.getAs("completion"));
            }
        } finally {
            spark.stop();
        }
    }
}
