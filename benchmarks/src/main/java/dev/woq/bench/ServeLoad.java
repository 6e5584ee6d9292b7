package dev.woq.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.util.ProcessMemory;
import dev.woq.server.ServerOptions;
import dev.woq.server.WoqServer;
import dev.woq.tokenizer.Llama3Tokenizer;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The serve load test: starts {@code woq serve}'s server on a loopback port in this process and
 * drives it with 1, 2, 4, 8... concurrent streaming chat clients (each sending its requests one
 * after another). Per phase: aggregate decode tokens/s (the sum of each stream's rate between its
 * first and last token, so it includes the pauses while newer requests' prompts are prefilled),
 * the decode rate while all streams decode (see {@link #concurrentRate}), end-to-end tokens/s (completion tokens /
 * phase time), time to first token percentiles, errors, and RSS after the phase against the
 * baseline before any load.
 *
 * <pre>
 * java -cp ... dev.woq.bench.ServeLoad MODEL_DIR [--clients 1,2,4,8] [--requests 1] [--max-tokens 32]
 *     [--threads 2] [--out serve-load.json]
 * </pre>
 */
public final class ServeLoad {
    private static final String[] MESSAGES = {
        "Write a short poem about the sea.", "What is the capital of France, and why?",
        "List three uses of a paperclip.", "Explain recursion to a child.", "Describe a sunrise in the mountains.",
        "Give me a recipe for pancakes.", "Why is the sky blue?", "Tell me a joke about computers.",
    };

    private ServeLoad() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].startsWith("-")) {
            System.err.println("usage: ServeLoad MODEL_DIR [--clients 1,2,4,8] [--requests N] [--max-tokens N]"
                    + " [--threads N] [--out FILE.json]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int[] clients = {1, 2, 4, 8};
        int requests = 1;
        int maxTokens = 32;
        int threads = 2;
        Path out = Path.of("serve-load.json");
        for (int i = 1; i < args.length; i += 2) {
            String value = args[i + 1];
            switch (args[i]) {
                case "--clients" -> clients = Arrays.stream(value.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--requests" -> requests = Integer.parseInt(value);
                case "--max-tokens" -> maxTokens = Integer.parseInt(value);
                case "--threads" -> threads = Integer.parseInt(value);
                case "--out" -> out = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        JsonObject report = run(dir, clients, requests, maxTokens, threads);
        Files.writeString(out, new GsonBuilder().setPrettyPrinting().create().toJson(report));
        System.out.println("wrote " + out);
    }

    /** Runs every phase and returns the report; prints the table as it goes. */
    public static JsonObject run(Path dir, int[] clients, int requests, int maxTokens, int threads) throws Exception {
        int slots = Arrays.stream(clients).max().orElse(1);
        ServerOptions options = new ServerOptions("127.0.0.1", 0, null, slots, slots, 1 << 20);
        ByteArrayOutputStream serverLog = new ByteArrayOutputStream();
        long loadStart = System.nanoTime();
        try (WoqServer server = WoqServer.start(options, () -> new WoqServer.LoadedModel("model",
                        LlamaModel.load(TorchRuntime.start(threads), dir), Llama3Tokenizer.load(dir.resolve("tokenizer.json"))),
                new PrintStream(serverLog, true, StandardCharsets.UTF_8))) {
            server.ready().get(30, TimeUnit.MINUTES);
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String base = "http://127.0.0.1:" + server.port();
            stream(http, base, "Hello", 4); // warm-up: first-touch of weights and kernels
            long baseline = ProcessMemory.rssBytes();
            long baselineAnon = ProcessMemory.anonymousRssBytes();
            ProcessMemory.resetPeak();
            JsonObject report = new JsonObject();
            report.addProperty("model", dir.toString());
            report.addProperty("load_seconds", loadSeconds);
            report.addProperty("max_tokens", maxTokens);
            report.addProperty("requests_per_client", requests);
            report.addProperty("baseline_rss_bytes", baseline);
            report.addProperty("baseline_anonymous_rss_bytes", baselineAnon);
            report.addProperty("baseline_heap_committed_bytes", Runtime.getRuntime().totalMemory());
            JsonArray phases = new JsonArray();
            System.out.printf(Locale.ROOT, "model %s, loaded in %.1f s, RSS %.2f GB after warm-up (anonymous %.2f GB,"
                    + " Java heap %.2f GB)%n", dir, loadSeconds, baseline / 1e9, baselineAnon / 1e9,
                    Runtime.getRuntime().totalMemory() / 1e9);
            System.out.println("clients  requests  errors  decode tok/s  all decoding  end-to-end tok/s  TTFT p50 / p90 / max (s)"
                    + "  RSS after (GB)  anonymous  Java heap");
            for (int c : clients) {
                JsonObject phase = phase(http, base, c, requests, maxTokens);
                awaitIdle(http, base);
                long rss = ProcessMemory.rssBytes();
                long heap = Runtime.getRuntime().totalMemory();
                long anon = ProcessMemory.anonymousRssBytes();
                phase.addProperty("rss_after_bytes", rss);
                phase.addProperty("anonymous_rss_after_bytes", anon);
                phase.addProperty("heap_committed_after_bytes", heap);
                phases.add(phase);
                System.out.printf(Locale.ROOT, "%7d  %8d  %6d  %12.2f  %12.2f  %16.2f  %6.2f / %5.2f / %5.2f      %14.2f  %9.2f  %.2f%n",
                        c, phase.get("requests").getAsInt(), phase.get("errors").getAsInt(),
                        phase.get("aggregate_decode_tokens_per_second").getAsDouble(),
                        phase.get("concurrent_decode_tokens_per_second").getAsDouble(),
                        phase.get("end_to_end_tokens_per_second").getAsDouble(),
                        phase.get("ttft_p50_seconds").getAsDouble(), phase.get("ttft_p90_seconds").getAsDouble(),
                        phase.get("ttft_max_seconds").getAsDouble(), rss / 1e9, anon / 1e9, heap / 1e9);
            }
            report.add("phases", phases);
            report.addProperty("peak_rss_bytes", ProcessMemory.peakRssBytes());
            report.addProperty("final_rss_bytes", ProcessMemory.rssBytes());
            return report;
        }
    }

    private static JsonObject phase(HttpClient http, String base, int clients, int requests, int maxTokens) throws Exception {
        List<Result> results = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int client = c;
            Thread t = new Thread(() -> {
                for (int r = 0; r < requests; r++) {
                    Result result = stream(http, base, MESSAGES[(client + r) % MESSAGES.length], maxTokens);
                    synchronized (results) {
                        results.add(result);
                    }
                }
            }, "client-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] ttft = results.stream().filter(r -> r.error == null).mapToDouble(r -> r.ttft).sorted().toArray();
        double decodeRate = results.stream().filter(r -> r.error == null && r.tokens > 1)
                .mapToDouble(r -> (r.tokens - 1) / r.decodeSeconds).sum() / requests;
        long tokens = results.stream().filter(r -> r.error == null).mapToLong(r -> r.tokens).sum();
        double concurrentRate = concurrentRate(results);
        JsonObject phase = new JsonObject();
        phase.addProperty("clients", clients);
        phase.addProperty("requests", results.size());
        phase.addProperty("errors", results.stream().filter(r -> r.error != null).count());
        results.stream().filter(r -> r.error != null).limit(3).forEach(r -> System.out.println("  error: " + r.error));
        phase.addProperty("completion_tokens", tokens);
        phase.addProperty("seconds", seconds);
        phase.addProperty("aggregate_decode_tokens_per_second", decodeRate);
        phase.addProperty("concurrent_decode_tokens_per_second", concurrentRate);
        phase.addProperty("end_to_end_tokens_per_second", tokens / seconds);
        phase.addProperty("ttft_p50_seconds", percentile(ttft, 0.5));
        phase.addProperty("ttft_p90_seconds", percentile(ttft, 0.9));
        phase.addProperty("ttft_max_seconds", ttft.length == 0 ? Double.NaN : ttft[ttft.length - 1]);
        return phase;
    }

    /**
     * Text chunks per second over the phase's streams while all of them were decoding: from the
     * latest first chunk to the earliest last one. No prompt is prefilled in that window (every
     * request has started), so this is the batched decode rate at this many sequences; NaN when
     * the streams never overlapped (several requests per client). A token whose bytes do not yet
     * end a character sends no chunk, so this can only undercount.
     */
    static double concurrentRate(List<Result> results) {
        List<Result> ok = results.stream().filter(r -> r.error == null && r.chunkNanos.size() > 1).toList();
        if (ok.isEmpty()) {
            return Double.NaN;
        }
        long from = ok.stream().mapToLong(r -> r.chunkNanos.get(0)).max().getAsLong();
        long to = ok.stream().mapToLong(r -> r.chunkNanos.get(r.chunkNanos.size() - 1)).min().getAsLong();
        if (to <= from) {
            return Double.NaN;
        }
        long chunks = ok.stream().mapToLong(r -> r.chunkNanos.stream().filter(t -> t > from && t <= to).count()).sum();
        return chunks / ((to - from) / 1e9);
    }

    /** One streamed chat request, timed at the client. */
    private static Result stream(HttpClient http, String base, String message, int maxTokens) {
        Result result = new Result();
        String body = "{\"model\":\"model\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":"
                + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + message + "\"}]}";
        long sent = System.nanoTime();
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .timeout(Duration.ofMinutes(30)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                result.error = "HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
                return result;
            }
            long first = 0;
            long last = 0;
            boolean done = false;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    if (line.equals("data: [DONE]")) {
                        done = true;
                        break;
                    }
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    JsonObject chunk = JsonParser.parseString(line.substring(6)).getAsJsonObject();
                    if (chunk.has("usage") && !chunk.get("usage").isJsonNull()) {
                        result.tokens = chunk.getAsJsonObject("usage").get("completion_tokens").getAsInt();
                    }
                    JsonArray choices = chunk.getAsJsonArray("choices");
                    if (!choices.isEmpty() && choices.get(0).getAsJsonObject().getAsJsonObject("delta").has("content")
                            && !choices.get(0).getAsJsonObject().getAsJsonObject("delta").get("content").getAsString().isEmpty()) {
                        long now = System.nanoTime();
                        result.chunkNanos.add(now);
                        if (first == 0) {
                            first = now;
                        }
                        last = now;
                    }
                }
            }
            if (!done) {
                result.error = "the stream ended without [DONE]";
            }
            result.ttft = (first - sent) / 1e9;
            result.decodeSeconds = (last - first) / 1e9;
        } catch (Exception e) {
            result.error = e.toString();
        }
        return result;
    }

    private static void awaitIdle(HttpClient http, String base) throws Exception {
        for (int i = 0; i < 600; i++) {
            String health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            JsonObject h = JsonParser.parseString(health).getAsJsonObject();
            if (h.get("active").getAsInt() == 0 && h.get("queued").getAsInt() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the server never became idle");
    }

    private static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    static final class Result {
        double ttft;
        double decodeSeconds;
        int tokens;
        final List<Long> chunkNanos = new ArrayList<>();
        String error;
    }
}
