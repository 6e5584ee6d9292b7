package dev.woq.bench;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.engine.MemoryBandwidth;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.util.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * End-to-end latency and memory on one checkpoint, in one process: load time, time to first
 * token for a prompt, decode tokens/s, the weight bytes each decode step streams divided by the
 * time per step (GB/s), and the same machine's read bandwidth measured in the same run, so the
 * ratio between the two says how close decode is to the memory limit.
 *
 * <pre>
 * java -cp "benchmarks/target/woq-benchmarks.jar:benchmarks/target/lib/*" dev.woq.bench.DecodeBenchmark \
 *     --model /work/data/llama3-8b --prompt-tokens 128 --new-tokens 32 --json benchmarks/results/bf16-llama3-8b.json
 * </pre>
 */
public final class DecodeBenchmark {
    public static void main(String[] args) throws IOException {
        Map<String, String> opts = parse(args);
        Path model = Path.of(require(opts, "--model"));
        int promptTokens = Integer.parseInt(opts.getOrDefault("--prompt-tokens", "128"));
        int newTokens = Integer.parseInt(opts.getOrDefault("--new-tokens", "32"));
        int threads = Integer.parseInt(opts.getOrDefault("--threads", "0"));

        TorchRuntime runtime = threads > 0 ? TorchRuntime.start(threads) : TorchRuntime.start();
        System.err.println("woq bench: " + runtime.describe());
        double bandwidth = MemoryBandwidth.measure(runtime, 1L << 30, 10);
        System.err.printf(Locale.ROOT, "woq bench: memory read bandwidth %.1f GB/s%n", bandwidth / 1e9);

        long t0 = System.nanoTime();
        try (LlamaModel llama = LlamaModel.load(runtime, model)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            Generator generator = new Generator(llama);
            int[] prompt = prompt(promptTokens, llama.config().bosTokenId());
            // Warm-up: first touches of the mapped weights come from the page cache, not RAM.
            generator.generate(Arrays.copyOf(prompt, 8), GenerationConfig.greedy(4, Set.of()), id -> {});

            List<Long> stamps = new ArrayList<>();
            GenerationResult r = generator.generate(
                    prompt, GenerationConfig.greedy(newTokens, Set.of()), id -> stamps.add(System.nanoTime()));
            double[] steps = new double[stamps.size() - 1];
            for (int i = 1; i < stamps.size(); i++) {
                steps[i - 1] = (stamps.get(i) - stamps.get(i - 1)) / 1e9;
            }
            Arrays.sort(steps);
            double medianStep = steps[steps.length / 2];
            long bytesPerToken = llama.weightBytesPerToken();
            double decodeGbps = bytesPerToken / medianStep / 1e9;
            double boundSeconds = bytesPerToken / bandwidth;

            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model.toString());
            m.put("dtype", llama.weightFormat());
            m.put("engine", runtime.describe());
            m.put("load_seconds", loadSeconds);
            m.put("prompt_tokens", promptTokens);
            m.put("time_to_first_token_ms", r.timeToFirstTokenNanos() / 1e6);
            m.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
            m.put("new_tokens", r.generatedIds().length);
            m.put("decode_tokens_per_second", r.decodeTokensPerSecond());
            m.put("median_decode_step_ms", medianStep * 1e3);
            m.put("weight_bytes_per_token", bytesPerToken);
            m.put("decode_weight_gb_per_second", decodeGbps);
            m.put("memory_read_gb_per_second", bandwidth / 1e9);
            m.put("step_over_bandwidth_bound", medianStep / boundSeconds);
            m.put("peak_rss_bytes", ProcessMemory.peakRssBytes());
            String json = new GsonBuilder().setPrettyPrinting().create().toJson(m);
            System.out.println(json);
            if (opts.containsKey("--json")) {
                Path out = Path.of(opts.get("--json"));
                if (out.getParent() != null) {
                    Files.createDirectories(out.getParent());
                }
                Files.writeString(out, json + "\n");
            }
            System.err.printf(Locale.ROOT,
                    "woq bench: %s: load %.1f s; TTFT %.0f ms for %d tokens (%.1f tok/s); decode %.2f tok/s "
                            + "(median step %.0f ms, %.1f GB/s of weights = %.2fx the %.1f GB/s read bound); peak RSS %.1f GiB%n",
                    llama.weightFormat(), loadSeconds, r.timeToFirstTokenNanos() / 1e6, promptTokens, r.prefillTokensPerSecond(),
                    r.decodeTokensPerSecond(), medianStep * 1e3, decodeGbps, medianStep / boundSeconds,
                    bandwidth / 1e9, ProcessMemory.peakRssBytes() / (double) (1L << 30));
        }
    }

    /** BOS then a fixed spread of ordinary token ids: the content does not change the cost. */
    static int[] prompt(int n, int bos) {
        int[] ids = new int[n];
        ids[0] = bos;
        for (int i = 1; i < n; i++) {
            ids[i] = 1000 + 7 * i;
        }
        return ids;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value pairs, got '" + args[i] + "'");
            }
            m.put(args[i], args[++i]);
        }
        return m;
    }

    private static String require(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException(
                    "usage: DecodeBenchmark --model DIR [--prompt-tokens 128] [--new-tokens 32] [--threads N] [--json FILE]");
        }
        return v;
    }
}
