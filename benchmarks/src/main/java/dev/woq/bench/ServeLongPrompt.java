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
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a long prompt does to the streams already running on {@code woq serve}, and what a
 * repeated system prompt saves. Starts the server in this process with the prefix cache on, then:
 * <ol>
 *   <li>{@code --clients} streaming chat clients start and decode;</li>
 *   <li>after {@code --settle} seconds a request arrives whose prompt is about {@code --long-tokens}
 *       tokens: a long system prompt and a question; it is answered with {@code --answer-tokens}
 *       tokens;</li>
 *   <li>once it has its first token, the clients stop reading (their streams are closed) after
 *       {@code --settle} seconds more;</li>
 *   <li>a second request with the same system prompt and another question follows, alone.</li>
 * </ol>
 * The clients' inter-token latencies are split by when each token arrived: before the long prompt
 * was sent, while it was being prefilled (until its first token), and after. The two long requests'
 * usage gives the prompt tokens computed and those reused from the prefix cache
 * ({@code prompt_tokens_details.cached_tokens}).
 *
 * <pre>
 * java -cp ... dev.woq.bench.ServeLongPrompt MODEL_DIR [--clients 4] [--long-tokens 2000]
 *     [--prefill-chunk 512] [--settle 10] [--answer-tokens 8] [--threads 2] [--out FILE.json]
 * </pre>
 */
public final class ServeLongPrompt {
    private static final String[] WORDS = {
        "the", "report", "shows", "revenue", "grew", "in", "every", "region", "while", "costs", "fell", "after",
        "new", "contract", "with", "suppliers", "was", "signed", "and", "board", "approved", "a", "dividend", "of",
        "per", "share", "for", "year", "risks", "include", "currency", "changes", "demand", "weather", "staff",
    };

    private ServeLongPrompt() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].startsWith("-")) {
            System.err.println("usage: ServeLongPrompt MODEL_DIR [--clients 4] [--long-tokens 2000] [--prefill-chunk 512]"
                    + " [--settle 10] [--answer-tokens 8] [--threads 2] [--out FILE.json]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int clients = 4;
        int longTokens = 2000;
        int chunk = 512;
        int settle = 10;
        int answerTokens = 8;
        int threads = 2;
        Path out = Path.of("serve-long-prompt.json");
        for (int i = 1; i < args.length; i += 2) {
            String value = args[i + 1];
            switch (args[i]) {
                case "--clients" -> clients = Integer.parseInt(value);
                case "--long-tokens" -> longTokens = Integer.parseInt(value);
                case "--prefill-chunk" -> chunk = Integer.parseInt(value);
                case "--settle" -> settle = Integer.parseInt(value);
                case "--answer-tokens" -> answerTokens = Integer.parseInt(value);
                case "--threads" -> threads = Integer.parseInt(value);
                case "--out" -> out = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        JsonObject report = run(dir, clients, longTokens, chunk, settle, answerTokens, threads);
        Files.writeString(out, new GsonBuilder().setPrettyPrinting().create().toJson(report));
        System.out.println("wrote " + out);
    }

    static JsonObject run(Path dir, int clients, int longTokens, int chunk, int settle, int answerTokens, int threads)
            throws Exception {
        Llama3Tokenizer tokenizer = Llama3Tokenizer.load(dir.resolve("tokenizer.json"));
        String system = text(tokenizer, longTokens * 3 / 4, 1);
        String question1 = text(tokenizer, longTokens / 4, 2);
        String question2 = text(tokenizer, longTokens / 4, 3);
        ServerOptions options = new ServerOptions("127.0.0.1", 0, null, clients + 1, clients + 2, 1 << 22,
                ServerOptions.DEFAULT_PREFIX_CACHE_MIB << 20);
        try (WoqServer server = WoqServer.start(options, () -> {
                    LlamaModel model = LlamaModel.load(TorchRuntime.start(threads), dir);
                    model.setPrefillChunk(chunk);
                    return new WoqServer.LoadedModel("model", model, tokenizer);
                }, new PrintStream(System.err, true, StandardCharsets.UTF_8))) {
            server.ready().get(30, TimeUnit.MINUTES);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String base = "http://127.0.0.1:" + server.port();
            request(http, base, null, "Hello", 4, null); // warm-up: first touch of weights and kernels
            ProcessMemory.resetPeak();

            AtomicBoolean stop = new AtomicBoolean();
            List<List<Long>> arrivals = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                List<Long> times = new ArrayList<>();
                arrivals.add(times);
                Thread t = new Thread(() -> request(http, base, null, "Tell me a long story about the sea.", 4096,
                        new Chunks(times, stop)), "client");
                t.start();
                readers.add(t);
            }
            Thread.sleep(settle * 1000L);
            long longSent = System.nanoTime();
            Usage first = request(http, base, system, question1, answerTokens, null);
            long longFirstToken = longSent + (long) (first.ttftSeconds * 1e9);
            Thread.sleep(settle * 1000L);
            stop.set(true);
            for (Thread t : readers) {
                t.join();
            }
            Usage second = request(http, base, system, question2, answerTokens, null);

            JsonObject report = new JsonObject();
            report.addProperty("model", dir.getFileName().toString());
            report.addProperty("clients", clients);
            report.addProperty("prefill_chunk", chunk);
            report.add("first_long_request", first.json());
            report.add("second_same_system_prompt", second.json());
            JsonObject itl = new JsonObject();
            itl.add("before", latencies(arrivals, Long.MIN_VALUE, longSent));
            itl.add("during_prefill", latencies(arrivals, longSent, longFirstToken));
            itl.add("after", latencies(arrivals, longFirstToken, Long.MAX_VALUE));
            report.add("client_inter_token_ms", itl);
            report.addProperty("peak_rss_bytes", ProcessMemory.peakRssBytes());
            System.out.printf(Locale.ROOT, "long request: %d prompt tokens (%d reused), first token after %.1f s%n",
                    first.promptTokens, first.cachedTokens, first.ttftSeconds);
            System.out.printf(Locale.ROOT, "same system prompt again: %d prompt tokens (%d reused), first token after %.1f s%n",
                    second.promptTokens, second.cachedTokens, second.ttftSeconds);
            for (String window : List.of("before", "during_prefill", "after")) {
                JsonObject w = itl.getAsJsonObject(window);
                System.out.printf(Locale.ROOT, "clients' inter-token ms %-15s n=%d p50 %.0f p99 %.0f max %.0f%n", window,
                        w.get("intervals").getAsInt(), w.get("p50").getAsDouble(), w.get("p99").getAsDouble(),
                        w.get("max").getAsDouble());
            }
            return report;
        }
    }

    /** Words drawn by a seeded random until the text is {@code tokens} tokens long. */
    private static String text(Llama3Tokenizer tokenizer, int tokens, long seed) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder();
        while (tokenizer.encode(text.toString()).length < tokens) {
            for (int i = 0; i < 16; i++) {
                text.append(WORDS[random.nextInt(WORDS.length)]).append(i == 15 ? ". " : " ");
            }
        }
        return text.toString();
    }

    /** The intervals between consecutive tokens of each client whose later token arrived in [from, to). */
    private static JsonObject latencies(List<List<Long>> arrivals, long from, long to) {
        List<Double> ms = new ArrayList<>();
        for (List<Long> times : arrivals) {
            synchronized (times) {
                for (int i = 1; i < times.size(); i++) {
                    long t = times.get(i);
                    if (t >= from && t < to) {
                        ms.add((t - times.get(i - 1)) / 1e6);
                    }
                }
            }
        }
        double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        JsonObject o = new JsonObject();
        o.addProperty("intervals", sorted.length);
        o.addProperty("p50", percentile(sorted, 0.50));
        o.addProperty("p99", percentile(sorted, 0.99));
        o.addProperty("max", sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1]);
        return o;
    }

    private static double percentile(double[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    /** Where a client stream records its tokens' arrival times, and when it should hang up. */
    private record Chunks(List<Long> times, AtomicBoolean stop) {}

    /** What a finished request reports: prompt tokens, those reused, time to first token. */
    private record Usage(int promptTokens, int cachedTokens, int completionTokens, double ttftSeconds) {
        JsonObject json() {
            JsonObject o = new JsonObject();
            o.addProperty("prompt_tokens", promptTokens);
            o.addProperty("cached_tokens", cachedTokens);
            o.addProperty("computed_tokens", promptTokens - cachedTokens);
            o.addProperty("completion_tokens", completionTokens);
            o.addProperty("ttft_seconds", ttftSeconds);
            return o;
        }
    }

    /**
     * One streamed chat request. With {@code chunks}, records each content chunk's arrival and
     * hangs up once asked to (the server then cancels the request).
     */
    private static Usage request(HttpClient http, String base, String system, String user, int maxTokens, Chunks chunks) {
        JsonArray messages = new JsonArray();
        if (system != null) {
            messages.add(message("system", system));
        }
        messages.add(message("user", user));
        JsonObject body = new JsonObject();
        body.addProperty("model", "model");
        body.addProperty("stream", true);
        body.addProperty("temperature", 0);
        body.addProperty("max_tokens", maxTokens);
        JsonObject streamOptions = new JsonObject();
        streamOptions.addProperty("include_usage", true);
        body.add("stream_options", streamOptions);
        body.add("messages", messages);
        long sent = System.nanoTime();
        long first = 0;
        int prompt = 0;
        int cached = 0;
        int completion = 0;
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .timeout(Duration.ofHours(2)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + r.statusCode() + ": "
                        + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
            }
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    if (chunks != null && chunks.stop().get()) {
                        break; // closing the stream hangs up
                    }
                    if (line.equals("data: [DONE]")) {
                        break;
                    }
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    JsonObject chunk = JsonParser.parseString(line.substring(6)).getAsJsonObject();
                    if (chunk.has("usage") && !chunk.get("usage").isJsonNull()) {
                        JsonObject usage = chunk.getAsJsonObject("usage");
                        prompt = usage.get("prompt_tokens").getAsInt();
                        completion = usage.get("completion_tokens").getAsInt();
                        if (usage.has("prompt_tokens_details")) {
                            cached = usage.getAsJsonObject("prompt_tokens_details").get("cached_tokens").getAsInt();
                        }
                    }
                    JsonArray choices = chunk.getAsJsonArray("choices");
                    JsonObject delta = choices.isEmpty() ? null : choices.get(0).getAsJsonObject().getAsJsonObject("delta");
                    if (delta != null && delta.has("content") && !delta.get("content").getAsString().isEmpty()) {
                        long now = System.nanoTime();
                        if (first == 0) {
                            first = now;
                        }
                        if (chunks != null) {
                            synchronized (chunks.times()) {
                                chunks.times().add(now);
                            }
                        }
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("request failed: " + e, e);
        }
        return new Usage(prompt, cached, completion, first == 0 ? Double.NaN : (first - sent) / 1e9);
    }

    private static JsonObject message(String role, String content) {
        JsonObject m = new JsonObject();
        m.addProperty("role", role);
        m.addProperty("content", content);
        return m;
    }
}
