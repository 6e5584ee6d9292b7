package dev.woq.bench;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.registry.ModelResolver;
import dev.woq.spark.WoqSpark;
import dev.woq.spark.WoqSparkOptions;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Llama3Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Batch summarization three ways on the same rows: (a) the model loaded for every row, as the
 * PySpark recipe with llama-cpp-python does; (b) one row at a time with the model kept; (c)
 * woq-spark, the rows of a local[2] job decoded together. Prints rows/s and generated tokens/s.
 *
 * <p>Usage: {@code SparkBatchBench MODEL DTYPE a|b|c ROWS PROMPT_TOKENS NEW_TOKENS THREADS}; the
 * registry is $WOQ_HOME.
 */
public final class SparkBatchBench {
    private static final String PROMPT = "Summarize in three sentences:\n";
    private static final String[] SENTENCES = {
        "The quarterly report shows that sales in the northern region grew faster than expected.",
        "Customers asked for longer support hours and a simpler way to export their data.",
        "The warehouse team moved to a new building near the harbour in the spring.",
        "Two suppliers raised their prices, and the board discussed whether to switch.",
        "A storm closed the main road for three days, delaying every delivery in the valley.",
        "The new mobile app was downloaded ten thousand times in its first week.",
        "Engineers found that most crashes came from one outdated payment library.",
        "The company plans to open an office abroad if the next quarter goes well.",
    };

    private SparkBatchBench() {}

    public static void main(String[] args) {
        String model = args[0];
        WeightFormat format = WeightFormat.parse(args[1], null);
        String mode = args[2];
        int rows = Integer.parseInt(args[3]);
        int promptTokens = Integer.parseInt(args[4]);
        int newTokens = Integer.parseInt(args[5]);
        int threads = Integer.parseInt(args[6]);
        Path dir = new ModelResolver(ModelRegistry.atDefaultHome()).resolve(model, format);

        List<String> texts;
        try (Llama3Tokenizer tokenizer = Llama3Tokenizer.load(LocalModel.tokenizerFile(dir, null))) {
            texts = texts(tokenizer, rows, promptTokens);
        }
        long start = System.nanoTime();
        long generated = switch (mode) {
            case "a" -> perRow(dir, texts, newTokens, threads, true);
            case "b" -> perRow(dir, texts, newTokens, threads, false);
            case "c" -> spark(model, format, texts, newTokens, threads);
            default -> throw new IllegalArgumentException("mode a, b or c, not " + mode);
        };
        double seconds = modeSeconds >= 0 ? modeSeconds : (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "mode %s: %d rows of ~%d prompt tokens, %d generated tokens in %.1f s:"
                        + " %.3f rows/s, %.2f generated tok/s%n", mode, rows, promptTokens, generated, seconds,
                rows / seconds, generated / seconds);
    }

    /** Seconds of the timed part when a mode times itself (c excludes Spark's start and the warm-up). */
    private static double modeSeconds = -1;

    /** Rows of about {@code tokens} tokens each, sentences drawn by a seeded random, each row different. */
    static List<String> texts(Llama3Tokenizer tokenizer, int rows, int tokens) {
        Random random = new Random(7);
        List<String> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            StringBuilder text = new StringBuilder("Report " + (r + 1) + ".");
            while (tokenizer.encode(text.toString()).length < tokens) {
                text.append(' ').append(SENTENCES[random.nextInt(SENTENCES.length)]);
            }
            out.add(text.toString());
        }
        return out;
    }

    private static long perRow(Path dir, List<String> texts, int newTokens, int threads, boolean loadEachRow) {
        LocalModel kept = loadEachRow ? null : LocalModel.load(dir, null, threads);
        long start = System.nanoTime();
        long generated = 0;
        for (String text : texts) {
            long rowStart = System.nanoTime();
            LocalModel local = loadEachRow ? LocalModel.load(dir, null, threads) : kept;
            try {
                Llama3ChatTemplate chat = new Llama3ChatTemplate(local.tokenizer());
                int[] ids = chat.encodeDialogPrompt(List.of(new Message(Role.USER, PROMPT + text)));
                Set<Integer> stops = new HashSet<>(chat.stopTokenIds());
                GenerationResult result = new Generator(local.model()).generate(ids,
                        GenerationConfig.greedy(newTokens, stops), id -> { });
                generated += result.generatedIds().length;
                System.err.printf(Locale.ROOT, "row: %d prompt tokens, %d generated, %.1f s%s%n", ids.length,
                        result.generatedIds().length, (System.nanoTime() - rowStart) / 1e9,
                        loadEachRow ? String.format(Locale.ROOT, " (load %.1f s)", local.loadSeconds()) : "");
            } finally {
                if (loadEachRow) {
                    local.close();
                }
            }
        }
        modeSeconds = (System.nanoTime() - start) / 1e9;
        if (kept != null) {
            kept.close();
        }
        return generated;
    }

    private static long spark(String model, WeightFormat format, List<String> texts, int newTokens, int threads) {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("woq-spark bench")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
            WoqSparkOptions options = WoqSparkOptions.builder().model(model).dtype(format)
                    .prompt(PROMPT + "{text}").maxNewTokens(newTokens).inFlight(texts.size()).threads(threads).build();
            // Warm-up: loads the model into this JVM's holder, so the timed job is generation alone, as in (b).
            WoqSpark.generate(spark.createDataFrame(List.of(RowFactory.create(0, "Hello.")), schema),
                    WoqSparkOptions.builder().model(model).dtype(format).prompt("{text}").maxNewTokens(1)
                            .inFlight(texts.size()).threads(threads).build()).count();
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                rows.add(RowFactory.create(i, texts.get(i)));
            }
            Dataset<Row> input = spark.createDataFrame(rows, schema).repartition(2);
            long start = System.nanoTime();
            List<Row> out = WoqSpark.generate(input, options).collectAsList();
            modeSeconds = (System.nanoTime() - start) / 1e9;
            long generated = 0;
            for (Row r : out) {
                if (r.getAs("error") != null) {
                    throw new IllegalStateException("row " + r.get(0) + ": " + r.getAs("error"));
                }
                generated += r.<Integer>getAs("completion_tokens");
                System.err.printf(Locale.ROOT, "row %d: %d prompt tokens, %d generated, %d ms%n", r.<Integer>getAs("id"),
                        r.<Integer>getAs("prompt_tokens"), r.<Integer>getAs("completion_tokens"), r.<Long>getAs("ms"));
            }
            return generated;
        } finally {
            spark.stop();
        }
    }
}
