package dev.woq.spark;

import dev.woq.runtime.generate.ContinuousBatcher;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.StopReason;
import dev.woq.spark.PromptTemplate.BadRow;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * Generates for the rows of one partition: keeps up to twice the in-flight count of them submitted
 * to this JVM's shared batcher (so the batch stays full while the oldest row finishes) and hands
 * back each input row with the output columns, in input order. The model is fetched for the first
 * row, so an empty partition loads nothing.
 */
final class PartitionGenerator implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final WoqSparkOptions options;
    private final PromptTemplate template;
    private final StructType schema;
    private final boolean truncate;

    PartitionGenerator(WoqSparkOptions options, PromptTemplate template, StructType schema, boolean truncate) {
        this.options = options;
        this.template = template;
        this.schema = schema;
        this.truncate = truncate;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Rows(input);
    }

    /** A row's generation: its tokens as they come, then the outcome (or the model's failure). */
    private static final class Pending implements ContinuousBatcher.Listener {
        final Row row;
        final long started = System.nanoTime();
        final CompletableFuture<ContinuousBatcher.Outcome> done = new CompletableFuture<>();
        final List<Integer> ids = new ArrayList<>();
        int promptTokens;
        ContinuousBatcher.Ticket ticket;
        Row ready;

        Pending(Row row) {
            this.row = row;
        }

        @Override
        public void onToken(int id) {
            synchronized (ids) {
                ids.add(id);
            }
        }

        @Override
        public void onDone(ContinuousBatcher.Outcome outcome) {
            done.complete(outcome);
        }

        @Override
        public void onError(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }

    private final class Rows implements Iterator<Row> {
        private final Iterator<Row> input;
        private final Deque<Pending> pending = new ArrayDeque<>();
        private final int window = 2 * options.inFlight();
        private SharedModel model;
        private ChatPrompts prompts;

        Rows(Iterator<Row> input) {
            this.input = input;
            TaskContext task = TaskContext.get();
            if (task != null) {
                // A task that fails or is killed stops its rows in the shared batch.
                task.addTaskCompletionListener(context -> {
                    for (Pending p : pending) {
                        if (p.ticket != null) {
                            p.ticket.cancel();
                        }
                    }
                });
            }
        }

        @Override
        public boolean hasNext() {
            fill();
            return !pending.isEmpty();
        }

        @Override
        public Row next() {
            fill();
            Pending head = pending.pollFirst();
            if (head == null) {
                throw new NoSuchElementException();
            }
            Row out = head.ready != null ? head.ready : finish(head);
            fill();
            return out;
        }

        private void fill() {
            while (pending.size() < window && input.hasNext()) {
                pending.addLast(start(input.next()));
            }
        }

        private Pending start(Row row) {
            Pending p = new Pending(row);
            Map<String, String> values;
            try {
                values = template.values(row, schema);
            } catch (BadRow bad) {
                p.ready = output(p, null, null, null, null, bad.getMessage());
                return p;
            }
            if (model == null) {
                model = SharedModels.get(options);
                prompts = new ChatPrompts(model, template, options, truncate);
            }
            int[] ids;
            try {
                ids = prompts.ids(values);
            } catch (BadRow bad) {
                p.ready = output(p, null, null, null, null, bad.getMessage());
                return p;
            }
            p.promptTokens = ids.length;
            int maxNew = Math.min(options.maxNewTokens(), model.context() - ids.length);
            GenerationConfig config = new GenerationConfig(maxNew, options.temperature(), 0, 1, 1,
                    RowSeeds.seed(options.seed(), ids), model.stops);
            p.ticket = submit(ids, config, p);
            return p;
        }

        private ContinuousBatcher.Ticket submit(int[] ids, GenerationConfig config, Pending p) {
            while (true) {
                try {
                    return model.batcher.submit(ids, config, p);
                } catch (ContinuousBatcher.QueueFullException full) {
                    // Many tasks share the batcher: wait for a place rather than fail the row.
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new WoqSparkException("Interrupted while waiting for a place in the batch", e);
                    }
                }
            }
        }

        private Row finish(Pending p) {
            ContinuousBatcher.Outcome outcome;
            try {
                outcome = p.done.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WoqSparkException("Interrupted while generating", e);
            } catch (ExecutionException e) {
                throw new WoqSparkException("Generation failed on " + SharedModels.where() + ": " + e.getCause(), e.getCause());
            }
            int[] text;
            synchronized (p.ids) {
                text = p.ids.stream().mapToInt(Integer::intValue).filter(id -> !model.tokenizer().isSpecial(id)).toArray();
            }
            String completion = model.tokenizer().decode(text);
            BatchCounters.add(outcome.generatedTokens());
            return output(p, completion, p.promptTokens, outcome.generatedTokens(), finishReason(outcome.reason()), null);
        }

        private Row output(Pending p, String completion, Integer promptTokens, Integer completionTokens, String reason,
                String error) {
            if (error != null) {
                BatchCounters.add(0);
            }
            int n = p.row.size();
            Object[] values = new Object[n + WoqSpark.OUTPUT_COLUMNS.length];
            for (int i = 0; i < n; i++) {
                values[i] = p.row.get(i);
            }
            values[n] = completion;
            values[n + 1] = promptTokens;
            values[n + 2] = completionTokens;
            values[n + 3] = reason;
            values[n + 4] = error;
            values[n + 5] = (System.nanoTime() - p.started) / 1_000_000L;
            return RowFactory.create(values);
        }
    }

    /** OpenAI's names where they exist: {@code stop}, {@code length}. */
    static String finishReason(StopReason reason) {
        return switch (reason) {
            case STOP_TOKEN -> "stop";
            case MAX_NEW_TOKENS -> "length";
            default -> reason.name().toLowerCase(Locale.ROOT);
        };
    }
}
