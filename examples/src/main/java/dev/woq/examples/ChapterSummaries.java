package dev.woq.examples;

import dev.woq.runtime.WoqException;
import dev.woq.spark.LongInput;
import dev.woq.spark.WoqSpark;
import dev.woq.spark.WoqSparkOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Chapter summaries on Spark: a book split at its {@code CHAPTER} headings, one row per chapter,
 * summarized by {@link WoqSpark#generate} and written to Parquet. {@code examples/data/alice-excerpts.txt}
 * holds the openings of three chapters of Lewis Carroll's public-domain novel.
 *
 * <p>Spark is a provided dependency here, as on a cluster; {@code cli/target/lib} has it (and
 * woq-spark). JDK 17 needs the {@code --add-opens} flags of {@code spark.jdk17.opens} in pom.xml,
 * as the {@code ./woq} launcher passes them; {@code sun.nio.ch} and {@code java.nio} are enough here:
 *
 * <pre>
 * ./woq synth --preset small --out /tmp/s
 * java --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
 *     -cp "examples/target/woq-examples.jar:cli/target/lib/*" dev.woq.examples.ChapterSummaries \
 *     /tmp/s examples/data/alice-excerpts.txt /tmp/alice-summaries.parquet
 * </pre>
 */
public final class ChapterSummaries {
    private static final Pattern CHAPTER = Pattern.compile("^CHAPTER .+$", Pattern.MULTILINE);
    private static final StructType CHAPTERS = new StructType()
            .add("chapter", DataTypes.IntegerType, false).add("title", DataTypes.StringType, false)
            .add("text", DataTypes.StringType, false);

    private ChapterSummaries() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: ChapterSummaries MODEL_DIR BOOK.txt OUT.parquet");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("chapter summaries")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            long rows = run(spark, args[0], Path.of(args[1]), Path.of(args[2]), 128);
            System.err.println("wrote " + rows + " chapter summaries to " + args[2]);
        } catch (WoqException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        } finally {
            spark.stop();
        }
    }

    /** Summarizes each chapter of {@code book} into the Parquet directory {@code out}; returns the chapters. */
    public static long run(SparkSession spark, String model, Path book, Path out, int maxNewTokens) throws IOException {
        // 1. One row per chapter: its number, its heading, its text.
        List<Row> chapters = new ArrayList<>();
        String text = Files.readString(book);
        Matcher m = CHAPTER.matcher(text);
        List<int[]> spans = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        for (int i = 0; i < spans.size(); i++) {
            int end = i + 1 < spans.size() ? spans.get(i + 1)[0] : text.length();
            chapters.add(RowFactory.create(i + 1, text.substring(spans.get(i)[0], spans.get(i)[1]).strip(),
                    text.substring(spans.get(i)[1], end).strip()));
        }
        Dataset<Row> input = spark.createDataFrame(chapters, CHAPTERS);

        // 2. The prompt per row; chapters longer than the context are summarized in parts, then as a whole.
        WoqSparkOptions options = WoqSparkOptions.builder()
                .model(model)
                .systemPrompt("You summarize chapters of novels faithfully.")
                .prompt("Summarize this chapter of Alice's Adventures in Wonderland in three sentences.\n\n{title}\n\n{text}")
                .maxNewTokens(maxNewTokens)
                .longInput(LongInput.MAP_REDUCE)
                .build();

        // 3. Run and write: Parquet with the chapter columns plus completion, counts, finish_reason, error, ms.
        Dataset<Row> summaries = WoqSpark.generate(input, options);
        summaries.coalesce(1).write().mode(SaveMode.Overwrite).parquet(out.toString());
        return chapters.size();
    }
}
