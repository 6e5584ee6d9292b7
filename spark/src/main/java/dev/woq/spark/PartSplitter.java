package dev.woq.spark;

import dev.woq.spark.PromptTemplate.BadRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * The map step of {@link LongInput#MAP_REDUCE}: a row whose text column does not fit the context
 * with the prompt and max_new_tokens becomes several rows, one per part that fits, each with its
 * part number and the number of parts. Rows that fit, or that are bad, stay one row.
 */
final class PartSplitter implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    /** Below this many tokens a part holds too little text to be worth a summary: the row is refused instead. */
    private static final int MIN_PART_TOKENS = 8;

    private final WoqSparkOptions options;
    private final PromptTemplate template;
    private final StructType schema;

    PartSplitter(WoqSparkOptions options, PromptTemplate template, StructType schema) {
        this.options = options;
        this.template = template;
        this.schema = schema;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Iterator<>() {
            private final List<Row> parts = new ArrayList<>();
            private ChatPrompts prompts;
            private SharedModel model;

            @Override
            public boolean hasNext() {
                while (parts.isEmpty() && input.hasNext()) {
                    split(input.next());
                }
                return !parts.isEmpty();
            }

            @Override
            public Row next() {
                hasNext();
                return parts.remove(0);
            }

            private void split(Row row) {
                Map<String, String> values;
                try {
                    values = template.values(row, schema);
                } catch (BadRow bad) {
                    parts.add(with(row, null, 0, 1));
                    return;
                }
                if (model == null) {
                    model = SharedModels.get(options);
                    prompts = new ChatPrompts(model, template, options, true);
                }
                String column = options.textColumn();
                int[] text = model.tokenizer().encode(values.get(column));
                int budget = prompts.textBudget(values);
                if (text.length <= budget || budget < MIN_PART_TOKENS) {
                    parts.add(with(row, null, 0, 1));
                    return;
                }
                List<String> pieces = new ArrayList<>();
                for (int from = 0; from < text.length; ) {
                    int to = Math.min(text.length, from + budget);
                    String piece = decode(text, from, to);
                    // A character split across tokens would decode to U+FFFD: end the part before it.
                    while (to - from > 1 && to < text.length && piece.endsWith("\uFFFD")) {
                        to--;
                        piece = decode(text, from, to);
                    }
                    pieces.add(piece);
                    from = to;
                }
                int index = schema.fieldIndex(column);
                for (int i = 0; i < pieces.size(); i++) {
                    parts.add(with(row, index < 0 ? null : new Object[] {index, pieces.get(i)}, i, pieces.size()));
                }
            }

            private String decode(int[] ids, int from, int to) {
                return model.tokenizer().decode(Arrays.copyOfRange(ids, from, to));
            }
        };
    }

    /** The row, its text replaced by {@code replace = {index, text}} when given, then its part number and count. */
    private static Row with(Row row, Object[] replace, int part, int parts) {
        int n = row.size();
        Object[] values = new Object[n + 2];
        for (int i = 0; i < n; i++) {
            values[i] = row.get(i);
        }
        if (replace != null) {
            values[(Integer) replace[0]] = replace[1];
        }
        values[n] = part;
        values[n + 1] = parts;
        return RowFactory.create(values);
    }
}
