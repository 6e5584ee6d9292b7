package dev.woq.bench;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.bench.ModelBenchmark;
import dev.woq.runtime.bench.Spread;
import dev.woq.runtime.chat.Conversation;
import dev.woq.runtime.generate.ContinuousBatcher;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.generate.Warmup;
import dev.woq.tokenizer.StreamingDecoder;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntConsumer;

/**
 * Per-token cost of every way woq generates, in one process on one loaded model, alternating
 * round by round so that a shared host's noise falls on all of them alike: the bench loop
 * ({@link ModelBenchmark#run}), {@link Generator} streaming text, a {@link Conversation} turn,
 * a {@link ContinuousBatcher} with one stream, sampling at temperature 0.6 / top-p 0.9, and the
 * bench loop again on a thread of its own.
 * Each path's figure is the median interval between two tokens (as the bench's median step), in
 * milliseconds, and the tokens/s it makes.
 *
 * <pre>
 * java -cp ... dev.woq.bench.DecodePaths MODEL_DIR [--tokens 64] [--rounds 3] [--threads 2]
 * </pre>
 */
public final class DecodePaths {
    private DecodePaths() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].startsWith("-")) {
            System.err.println("usage: DecodePaths MODEL_DIR [--tokens N] [--rounds N] [--threads N]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int tokens = 64;
        int rounds = 3;
        int threads = 2;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--tokens" -> tokens = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        try (LocalModel local = LocalModel.load(dir, LocalModel.tokenizerFile(dir, null), threads)) {
            System.err.println("DecodePaths: " + local.describe());
            int[] prompt = ModelBenchmark.prompt(16, local.model().config().bosTokenId());
            String[] names = {"bench loop", "generate (stream)", "chat turn", "batcher B=1", "generate top-p 0.9",
                "bench loop, new thread"};
            double[][] medians = new double[names.length][rounds];
            Warmup.run(local.model());
            PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
            for (int r = 0; r < rounds; r++) {
                medians[0][r] = ModelBenchmark.run(local.model(), prompt, tokens).medianStepNanos() / 1e6;
                medians[1][r] = generate(local, prompt, GenerationConfig.greedy(tokens, Set.of()), sink);
                medians[2][r] = chat(local, tokens, sink);
                medians[3][r] = batcher(local, prompt, tokens);
                medians[4][r] = generate(local, prompt, new GenerationConfig(tokens, 0.6, 0, 0.9, 1, 7, Set.of()), sink);
                // The same loop on a thread of its own: libgomp keeps a team of threads per calling
                // thread, and how its workers wait differs once there is more than one team.
                double[] onThread = new double[1];
                int n = tokens;
                Thread t = new Thread(() -> onThread[0] = ModelBenchmark.run(local.model(), prompt, n).medianStepNanos() / 1e6);
                t.start();
                t.join();
                medians[5][r] = onThread[0];
            }
            double base = Spread.of(medians[0]).median();
            System.out.printf(Locale.ROOT, "%-20s %12s %10s %10s%n", "path", "ms/token", "tok/s", "of bench");
            for (int p = 0; p < names.length; p++) {
                double ms = Spread.of(medians[p]).median();
                System.out.printf(Locale.ROOT, "%-20s %12.2f %10.2f %9.1f%%   rounds %s%n", names[p], ms, 1e3 / ms,
                        100 * base / ms, Arrays.toString(Arrays.stream(medians[p]).map(v -> Math.round(v * 100) / 100.0).toArray()));
            }
        }
    }

    /** Median interval between tokens after the first, from the listener's clock. */
    private static final class Clock implements IntConsumer {
        final long[] at;
        int n;

        Clock(int tokens) {
            at = new long[tokens];
        }

        @Override
        public void accept(int id) {
            if (n < at.length) {
                at[n++] = System.nanoTime();
            }
        }

        double medianIntervalMillis() {
            double[] gaps = new double[n - 1];
            for (int i = 1; i < n; i++) {
                gaps[i - 1] = (at[i] - at[i - 1]) / 1e6;
            }
            return Spread.of(gaps).median();
        }
    }

    private static double generate(LocalModel local, int[] prompt, GenerationConfig config, PrintWriter sink) {
        Clock clock = new Clock(config.maxNewTokens());
        StreamingDecoder decoder = new StreamingDecoder(local.tokenizer());
        new Generator(local.model()).generate(prompt, config, id -> {
            clock.accept(id);
            sink.print(decoder.push(id));
            sink.flush();
        });
        return clock.medianIntervalMillis();
    }

    private static double chat(LocalModel local, int tokens, PrintWriter sink) {
        Clock clock = new Clock(tokens + 1);
        try (Conversation c = new Conversation(local.model(), local.tokenizer(),
                Math.min(8192, local.model().config().maxPositionEmbeddings()))) {
            // Random weights rarely write <|eot_id|>: the turn runs to its token limit, like the bench.
            c.reply("Write a short poem about the sea.", GenerationConfig.greedy(tokens, Set.of()), piece -> {
                clock.accept(0);
                sink.print(piece);
                sink.flush();
            }, () -> false);
        }
        return clock.medianIntervalMillis();
    }

    private static double batcher(LocalModel local, int[] prompt, int tokens) throws InterruptedException {
        Clock clock = new Clock(tokens);
        CountDownLatch done = new CountDownLatch(1);
        try (ContinuousBatcher batcher = new ContinuousBatcher(local.model(), 4, 4)) {
            batcher.submit(prompt, GenerationConfig.greedy(tokens, Set.of()), new ContinuousBatcher.Listener() {
                @Override
                public void onToken(int id) {
                    clock.accept(id);
                }

                @Override
                public void onDone(ContinuousBatcher.Outcome outcome) {
                    done.countDown();
                }

                @Override
                public void onError(RuntimeException error) {
                    error.printStackTrace();
                    done.countDown();
                }
            });
            done.await();
        }
        return clock.medianIntervalMillis();
    }
}
