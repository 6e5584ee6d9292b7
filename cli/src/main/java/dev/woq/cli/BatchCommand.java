package dev.woq.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.woq.runtime.WoqException;
import dev.woq.spark.LongInput;
import dev.woq.spark.WoqSpark;
import dev.woq.spark.WoqSparkException;
import dev.woq.spark.WoqSparkExceptions;
import dev.woq.spark.WoqSparkOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq batch}: a prompt over every row of a file, on Spark, written to Parquet or JSON lines. */
@Command(
        name = "batch",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Run a prompt over every row of a file on Spark, completions added.",
        footerHeading = "%nExamples:%n",
        // Help is wrapped at 80 columns: every example line must fit, or picocli breaks it mid-command.
        footer = {
            "  woq batch --model /tmp/s --dtype int4 --input book.txt \\",
            "      --split-regex 'CHAPTER .+' --output summaries.parquet \\",
            "      --prompt 'Summarize in three sentences:\\n{text}' --long-input map-reduce",
            "  woq batch --model /tmp/s --input tickets.jsonl --text-column body \\",
            "      --prompt 'Classify as bug, question or request:\\n{body}' \\",
            "      --max-new-tokens 4 --output labels.jsonl"
        })
final class BatchCommand implements Callable<Integer> {
    @Mixin
    WeightsOptions weights;

    @Option(names = "--input", required = true, paramLabel = "FILE|DIR",
            description = ".txt (split with --split-regex), .jsonl, .csv or .parquet; or a directory of one kind.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE",
            description = ".parquet or .jsonl, written whole or not at all (replaced if it exists).")
    Path output;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "Summarize in three sentences:\\n{text}",
            description = "The user message; {column} is replaced by that column of the row; \\n is a new line"
                    + " (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message (default: none).")
    String system;

    @Option(names = "--text-column", paramLabel = "NAME", defaultValue = "text",
            description = "The column --long-input cuts or splits (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = "--split-regex", paramLabel = "REGEX",
            description = "For .txt: lines matching it whole start a new row, e.g. 'CHAPTER .+' (default: none,"
                    + " one row per file).")
    String splitRegex;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256",
            description = "Stop each row after N new tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Mixed with each row's prompt into its seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--long-input", paramLabel = "MODE", defaultValue = "error",
            description = "A row longer than the context: error (the row's error says so), truncate, or map-reduce"
                    + " (summarize parts, then the summaries) (default: ${DEFAULT-VALUE}).")
    String longInput;

    @Option(names = "--in-flight", paramLabel = "N", defaultValue = "8",
            description = "Rows decoded together per executor JVM (default: ${DEFAULT-VALUE}).")
    int inFlight;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master: local[N] runs embedded; spark://, yarn, k8s:// need the model at the same"
                    + " path on every executor (default: spark-submit's --master, else local[*]).")
    String master;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        BatchOutput.checkKind(output);
        LongInput mode = LongInput.parse(longInput);
        if (master == null) {
            // Under spark-submit the master is its --master (a system property); run alone, embedded.
            master = System.getProperty("spark.master", "local[*]");
        }
        boolean local = master.startsWith("local");
        WoqSparkOptions.Builder builder = WoqSparkOptions.builder()
                .model(weights.model).dtype(weights.format())
                .prompt(prompt.replace("\\n", "\n")).systemPrompt(system)
                .maxNewTokens(maxNewTokens).temperature(temperature).seed(seed)
                .inFlight(inFlight).threads(runtime.threads).longInput(mode).textColumn(textColumn);
        if (weights.home.woqHome != null) {
            builder.woqHome(weights.home.woqHome.toAbsolutePath().toString());
        }
        if (tokenizerOption.file != null) {
            builder.tokenizer(tokenizerOption.file.toAbsolutePath().toString());
        }
        WoqSparkOptions options = builder.build();
        ChapterSplitter splitter = new ChapterSplitter(splitRegex);
        if (local) {
            // The executors are this JVM: resolve here, quantizing first (once, with progress) if needed.
            weights.resolve(err);
        }
        SparkSession spark = session(local);
        try {
            Dataset<Row> rows = BatchInput.read(spark, input, splitter);
            WoqSpark.checkColumns(rows.schema(), options);
            // Numbers the rows in input order before spreading them over the tasks, to write them back in that order.
            rows = rows.withColumn("__woq_order", monotonically_increasing_id());
            long total = rows.count();
            if (total == 0) {
                throw new WoqException("Input " + input + " has no rows");
            }
            int slices = spark.sparkContext().defaultParallelism();
            if (rows.rdd().getNumPartitions() < slices) {
                rows = rows.repartition((int) Math.min(slices, total));
            }
            // Back in input order: one shuffle into one partition, sorted there (a global sort would sample its
            // input first, running the generation twice).
            Dataset<Row> result = WoqSpark.generate(rows, options)
                    .repartition(1).sortWithinPartitions(col("__woq_order")).drop("__woq_order");
            err.printf(Locale.ROOT, "woq: %d rows from %s, Spark %s on %s%n", total, input, spark.version(), master);
            err.flush();
            BatchProgress progress = new BatchProgress(err, total, local, org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext()).statusTracker());
            try {
                BatchOutput.write(result, output);
            } finally {
                progress.close();
            }
            // Read back from the output: on a cluster the executors' counters are not in this JVM.
            Row summary = spark.read().format(BatchInput.extension(output).equals("parquet") ? "parquet" : "json")
                    .load(output.toAbsolutePath().toString())
                    .agg(sum(when(col("error").isNotNull(), 1).otherwise(0)), sum(col("completion_tokens"))).first();
            long failed = summary.isNullAt(0) ? 0 : ((Number) summary.get(0)).longValue();
            long tokens = summary.isNullAt(1) ? 0 : ((Number) summary.get(1)).longValue();
            err.printf(Locale.ROOT, "woq: wrote %s: %d rows, %d with an error; %d tokens in %.1f s%n", output, total,
                    failed, tokens, progress.seconds());
            err.flush();
        } catch (WoqException e) {
            throw e;
        } catch (RuntimeException e) {
            WoqSparkException cause = WoqSparkExceptions.find(e);
            if (cause != null) {
                throw new WoqSparkException(cause.getMessage(), e);
            }
            throw e;
        } finally {
            spark.stop();
        }
        return 0;
    }

    private SparkSession session(boolean local) {
        SparkSession.Builder b = SparkSession.builder().master(master).appName("woq batch")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4");
        if (local) {
            b.config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1");
        }
        return b.getOrCreate();
    }
}
