package dev.woq.spark;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import java.io.Serializable;
import java.util.Objects;

/**
 * What {@link WoqSpark#generate} runs: the model, the prompt and the sampling. Immutable and
 * serializable: it travels to the executors with the tasks. Build one with {@link #builder}.
 *
 * <pre>{@code
 * WoqSparkOptions options = WoqSparkOptions.builder()
 *         .model("Meta-Llama-3-8B-Instruct").dtype(WeightFormat.INT4)
 *         .prompt("Summarize in three sentences:\n{text}")
 *         .maxNewTokens(128)
 *         .build();
 * }</pre>
 */
public final class WoqSparkOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String model;
    /** The format's id ({@code int4-q32}, {@code int8-g32}...): a string, so the options serialize as they are. */
    private final String format;
    private final String woqHome;
    private final String tokenizer;
    private final String prompt;
    private final String systemPrompt;
    private final int maxNewTokens;
    private final double temperature;
    private final long seed;
    private final int inFlight;
    private final int threads;
    private final LongInput longInput;
    private final String textColumn;

    private WoqSparkOptions(Builder b) {
        this.model = b.model;
        this.format = b.format.id();
        this.woqHome = b.woqHome;
        this.tokenizer = b.tokenizer;
        this.prompt = b.prompt;
        this.systemPrompt = b.systemPrompt;
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.seed = b.seed;
        this.inFlight = b.inFlight;
        this.threads = b.threads;
        this.longInput = b.longInput;
        this.textColumn = b.textColumn;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A registry name or a model directory, as every executor sees it. */
    public String model() {
        return model;
    }

    /** The weight format to load (a registry entry for int8 and int4). */
    public WeightFormat format() {
        return WeightFormat.ofId(format);
    }

    /** woq's home on the executors (holding registry/), or null for their $WOQ_HOME, else ~/.woq. */
    public String woqHome() {
        return woqHome;
    }

    /** A tokenizer.json every executor sees, or null for the model directory's. */
    public String tokenizer() {
        return tokenizer;
    }

    /** The user message, with {@code {column}} placeholders. */
    public String prompt() {
        return prompt;
    }

    /** The system message, or null for none. */
    public String systemPrompt() {
        return systemPrompt;
    }

    public int maxNewTokens() {
        return maxNewTokens;
    }

    public double temperature() {
        return temperature;
    }

    /** Mixed with each row's prompt into that row's seed, so a retried row samples the same tokens. */
    public long seed() {
        return seed;
    }

    /** Sequences decoded together in one executor JVM, whatever its number of tasks. */
    public int inFlight() {
        return inFlight;
    }

    /** Kernel threads of each executor JVM's engine; match it to {@code spark.task.cpus} times the tasks sharing it. */
    public int threads() {
        return threads;
    }

    public LongInput longInput() {
        return longInput;
    }

    /** The column that {@link LongInput#TRUNCATE} cuts and {@link LongInput#MAP_REDUCE} splits. */
    public String textColumn() {
        return textColumn;
    }

    /** Sets what {@link WoqSparkOptions} holds; {@link #build} checks it. */
    public static final class Builder {
        private String model;
        private WeightFormat format = WeightFormat.BF16;
        private String woqHome;
        private String tokenizer;
        private String prompt = "{text}";
        private String systemPrompt;
        private int maxNewTokens = 128;
        private double temperature = 0;
        private long seed = 0;
        private int inFlight = 8;
        private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        private LongInput longInput = LongInput.ERROR;
        private String textColumn = "text";

        private Builder() {}

        /** Required: a registry model name or a directory every executor can read. */
        public Builder model(String model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /** Default bf16. */
        public Builder dtype(WeightFormat format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** Default: each executor's $WOQ_HOME, else ~/.woq. */
        public Builder woqHome(String dir) {
            this.woqHome = dir;
            return this;
        }

        /** Default: the model directory's tokenizer.json. */
        public Builder tokenizer(String file) {
            this.tokenizer = file;
            return this;
        }

        /** The user message with {@code {column}} placeholders; default {@code {text}}. */
        public Builder prompt(String template) {
            this.prompt = Objects.requireNonNull(template, "prompt");
            return this;
        }

        /** Default none. */
        public Builder systemPrompt(String system) {
            this.systemPrompt = system;
            return this;
        }

        /** Default 128. */
        public Builder maxNewTokens(int n) {
            this.maxNewTokens = n;
            return this;
        }

        /** Default 0: greedy. */
        public Builder temperature(double t) {
            this.temperature = t;
            return this;
        }

        /** Default 0. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Sequences in flight per executor JVM; default 8. */
        public Builder inFlight(int n) {
            this.inFlight = n;
            return this;
        }

        /** Kernel threads per executor JVM; default this JVM's processors. */
        public Builder threads(int n) {
            this.threads = n;
            return this;
        }

        /** Default {@link LongInput#ERROR}. */
        public Builder longInput(LongInput mode) {
            this.longInput = Objects.requireNonNull(mode, "longInput");
            return this;
        }

        /** Default {@code text}. */
        public Builder textColumn(String column) {
            this.textColumn = Objects.requireNonNull(column, "textColumn");
            return this;
        }

        /** @throws ConfigException naming the bad value */
        public WoqSparkOptions build() {
            if (model == null || model.isBlank()) {
                throw new ConfigException("No model: set model(NAME|DIR), a registry name or a directory every executor can read");
            }
            if (maxNewTokens < 1) {
                throw new ConfigException("max_new_tokens must be at least 1, got " + maxNewTokens);
            }
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new ConfigException("temperature must be >= 0 (0 is greedy), got " + temperature);
            }
            if (inFlight < 1) {
                throw new ConfigException("sequences in flight must be at least 1, got " + inFlight);
            }
            if (threads < 1) {
                throw new ConfigException("threads must be at least 1, got " + threads);
            }
            PromptTemplate.parse(prompt);
            return new WoqSparkOptions(this);
        }
    }
}
