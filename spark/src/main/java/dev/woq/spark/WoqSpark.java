package dev.woq.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.sort_array;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Generation over a Dataset: every input row comes back with six columns added.
 *
 * <ul>
 *   <li>{@code completion} (string): the model's reply, special tokens left out;
 *   <li>{@code prompt_tokens}, {@code completion_tokens} (int);
 *   <li>{@code finish_reason} (string): {@code stop} (end of turn), {@code length} (max_new_tokens)
 *       or {@code context_full};
 *   <li>{@code error} (string): null, or what was wrong with that row (an empty or null column,
 *       text that was not valid UTF-8, a prompt longer than the context); such a row has no
 *       completion and the job goes on;
 *   <li>{@code ms} (long): milliseconds from the row's submission to its last token.
 * </ul>
 *
 * <p>Each executor JVM loads the model once ({@link SharedModels}), and the rows of all the
 * partitions it runs are decoded together by one continuous batcher. The result is lazy, as any
 * Dataset: the work happens when an action (a write, a count) runs it.
 */
public final class WoqSpark {
    /** The columns {@link #generate} adds, in order. */
    public static final String[] OUTPUT_COLUMNS = {"completion", "prompt_tokens", "completion_tokens", "finish_reason",
        "error", "ms"};

    private static final String ROW_ID = "__woq_row";
    private static final String PART = "__woq_part";
    private static final String PARTS = "__woq_parts";

    private WoqSpark() {}

    /**
     * The input with the output columns added (for {@link LongInput#MAP_REDUCE}, in another order).
     *
     * @throws WoqSparkException at once, before any work, when the prompt names a column the input
     *     lacks or the input already has an output column
     */
    public static Dataset<Row> generate(Dataset<Row> input, WoqSparkOptions options) {
        PromptTemplate template = check(input.schema(), options);
        return switch (options.longInput()) {
            case ERROR -> run(input, options, template, false);
            case TRUNCATE -> run(input, options, template, true);
            case MAP_REDUCE -> mapReduce(input, options, template);
        };
    }

    /**
     * Checks that {@code options} can run on rows of {@code schema}, as {@link #generate} does first.
     *
     * @throws WoqSparkException when the prompt names a column the schema lacks, the schema already has an output
     *     column, or the long-input column is not one the prompt reads
     */
    public static void checkColumns(StructType schema, WoqSparkOptions options) {
        check(schema, options);
    }

    private static PromptTemplate check(StructType schema, WoqSparkOptions options) {
        PromptTemplate template = PromptTemplate.parse(options.prompt());
        template.checkColumns(schema);
        List<String> names = Arrays.asList(schema.fieldNames());
        for (String out : OUTPUT_COLUMNS) {
            if (names.contains(out)) {
                throw new WoqSparkException("The input already has a column '" + out + "', which generation adds: rename"
                        + " or drop it first");
            }
        }
        if (options.longInput() != LongInput.ERROR) {
            String text = options.textColumn();
            if (!template.columns().contains(text)) {
                throw new WoqSparkException("Long-input " + options.longInput().cliName() + " cuts column '" + text
                        + "' but the prompt reads only " + template.columns() + ": set the text column to one of them");
            }
            if (options.longInput() == LongInput.MAP_REDUCE && !(schema.apply(text).dataType() instanceof StringType)) {
                throw new WoqSparkException("Long-input map-reduce splits column '" + text + "', which is "
                        + schema.apply(text).dataType().simpleString() + ", not string: cast it first");
            }
        }
        return template;
    }

    /** The schema of {@link #generate}'s result for an input of {@code input}. */
    public static StructType outputSchema(StructType input) {
        return input
                .add(OUTPUT_COLUMNS[0], DataTypes.StringType, true)
                .add(OUTPUT_COLUMNS[1], DataTypes.IntegerType, true)
                .add(OUTPUT_COLUMNS[2], DataTypes.IntegerType, true)
                .add(OUTPUT_COLUMNS[3], DataTypes.StringType, true)
                .add(OUTPUT_COLUMNS[4], DataTypes.StringType, true)
                .add(OUTPUT_COLUMNS[5], DataTypes.LongType, false);
    }

    private static Dataset<Row> run(Dataset<Row> input, WoqSparkOptions options, PromptTemplate template, boolean truncate) {
        return input.mapPartitions(new PartitionGenerator(options, template, input.schema(), truncate), Encoders.row(outputSchema(input.schema())));
    }

    /**
     * Parts that fit, generated; then, for rows of several parts, the prompt once more on the
     * parts' completions joined by blank lines (cut to fit). Counts and times add up over both steps.
     */
    private static Dataset<Row> mapReduce(Dataset<Row> input, WoqSparkOptions options, PromptTemplate template) {
        String text = options.textColumn();
        List<String> inputColumns = Arrays.asList(input.schema().fieldNames());
        Dataset<Row> withId = input.withColumn(ROW_ID, monotonically_increasing_id());
        StructType partsSchema = withId.schema()
                .add(PART, DataTypes.IntegerType, false).add(PARTS, DataTypes.IntegerType, false);
        Dataset<Row> parts = withId.mapPartitions(new PartSplitter(options, template, withId.schema()), Encoders.row(partsSchema));
        // Read twice below (rows of one part, rows of several): generate once.
        Dataset<Row> mapped = run(parts, options, template, true).persist(StorageLevel.MEMORY_AND_DISK());

        List<Column> whole = new ArrayList<>();
        inputColumns.forEach(c -> whole.add(col(c)));
        Arrays.stream(OUTPUT_COLUMNS).forEach(c -> whole.add(col(c)));
        Dataset<Row> single = mapped.filter(col(PARTS).leq(1)).select(whole.toArray(Column[]::new));

        List<Column> firsts = new ArrayList<>();
        for (String c : inputColumns) {
            if (!c.equals(text)) {
                firsts.add(first(col(c)).as(c));
            }
        }
        firsts.add(sort_array(collect_list(struct(col(PART).as("part"), col("completion").as("completion"),
                col("error").as("error")))).as("__woq_s"));
        firsts.add(sum(col("prompt_tokens")).as("__woq_pt"));
        firsts.add(sum(col("completion_tokens")).as("__woq_ct"));
        firsts.add(sum(col("ms")).as("__woq_ms"));
        Dataset<Row> grouped = mapped.filter(col(PARTS).gt(1)).groupBy(col(ROW_ID))
                .agg(firsts.get(0), firsts.subList(1, firsts.size()).toArray(Column[]::new))
                // A completion can end in half a character (max_new_tokens cut it): drop that U+FFFD, which the
                // reduce step would otherwise refuse as text that was not UTF-8.
                .withColumn(text, regexp_replace(concat_ws("\n\n", col("__woq_s.completion")), "\uFFFD", ""))
                .withColumn("__woq_err", expr("filter(__woq_s, p -> p.error is not null)[0]"));
        Dataset<Row> reduced = run(grouped, options, template, true);

        Column partError = concat(lit("part "), (col("__woq_err.part").plus(1)).cast("string"), lit(": "),
                col("__woq_err.error"));
        List<Column> out = new ArrayList<>();
        for (String c : inputColumns) {
            out.add(c.equals(text) ? col("__woq_orig_text").as(c) : col(c));
        }
        out.add(when(col("__woq_err").isNull(), col("completion")).as("completion"));
        out.add(col("prompt_tokens").plus(col("__woq_pt")).cast("int").as("prompt_tokens"));
        out.add(col("completion_tokens").plus(col("__woq_ct")).cast("int").as("completion_tokens"));
        out.add(when(col("__woq_err").isNull(), col("finish_reason")).as("finish_reason"));
        out.add(when(col("__woq_err").isNotNull(), partError).otherwise(col("error")).as("error"));
        out.add(col("ms").plus(col("__woq_ms")).cast("long").as("ms"));
        // The original text of each row, joined back by its id (the parts hold pieces of it).
        Dataset<Row> originals = withId.select(col(ROW_ID), col(text).as("__woq_orig_text"));
        Dataset<Row> whole2 = reduced.join(originals, ROW_ID).select(out.toArray(Column[]::new));
        return single.unionByName(whole2);
    }
}
