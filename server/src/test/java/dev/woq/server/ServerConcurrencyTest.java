package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Several clients at once: batching, the queue, disconnects, loading, and bad requests beside good ones. */
class ServerConcurrencyTest {
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    private static String chat(String message, int maxTokens, boolean stream) {
        return "{\"model\":\"tiny\",\"temperature\":0,\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + message + "\"}]}";
    }

    private static HttpRequest request(WoqServer server, String path, String body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static JsonObject get(WoqServer server, String path, int status) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private static String wholeReply(WoqServer server, String message, int maxTokens) throws Exception {
        HttpResponse<String> r = http.send(request(server, "/v1/chat/completions", chat(message, maxTokens, false)),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("choices").get(0).getAsJsonObject()
                .getAsJsonObject("message").get("content").getAsString();
    }

    /** Reads a streamed reply to the end and returns its text. */
    private static String streamedReply(InputStream body) throws Exception {
        StringBuilder text = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.equals("data: [DONE]")) {
                    return text.toString();
                }
                if (line.startsWith("data: ")) {
                    JsonObject delta = JsonParser.parseString(line.substring(6)).getAsJsonObject()
                            .getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonObject("delta");
                    if (delta.has("content")) {
                        text.append(delta.get("content").getAsString());
                    }
                }
            }
        }
        fail("the stream ended without [DONE]: " + text);
        return null;
    }

    private static void awaitHealth(WoqServer server, Predicate<JsonObject> condition, String what) throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        JsonObject last = null;
        while (System.currentTimeMillis() < end) {
            last = get(server, "/health", 200);
            if (condition.test(last)) {
                return;
            }
            Thread.sleep(50);
        }
        fail("health never showed " + what + ": " + last);
    }

    @Test
    void fourClientsAtOnceGetTheRepliesEachGetsAlone() throws Exception {
        try (WoqServer server = TestServers.start(TestServers.options(null, 4, 8, 1 << 20), QUIET)) {
            String[] messages = {"Hello", "What is the weather like today?", "Name three colours", "Why?"};
            List<String> alone = new ArrayList<>();
            for (String m : messages) {
                alone.add(wholeReply(server, m, 20));
            }
            List<CompletableFuture<HttpResponse<InputStream>>> streams = new ArrayList<>();
            for (String m : messages) {
                streams.add(http.sendAsync(request(server, "/v1/chat/completions", chat(m, 20, true)),
                        HttpResponse.BodyHandlers.ofInputStream()));
            }
            for (int i = 0; i < messages.length; i++) {
                HttpResponse<InputStream> r = streams.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode());
                assertEquals("text/event-stream;charset=utf-8", r.headers().firstValue("Content-Type").orElse("").replace(" ", ""));
                assertEquals(alone.get(i), streamedReply(r.body()), "client " + i);
            }
            awaitHealth(server, h -> h.get("active").getAsInt() == 0, "no active sequence");
        }
    }

    @Test
    void aFullQueueAnswers429AndAClientThatLeavesFreesItsPlace() throws Exception {
        try (WoqServer server = TestServers.start(TestServers.options(null, 1, 1, 1 << 20), QUIET)) {
            HttpResponse<InputStream> first = http.send(request(server, "/v1/chat/completions",
                    chat("Go on forever", 5000, true)), HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader firstLines = new BufferedReader(new InputStreamReader(first.body(), StandardCharsets.UTF_8));
            firstLines.readLine(); // the first event (the role): sent as soon as the request is accepted
            // The batcher warms the model up before its first request, which waits in the queue meanwhile.
            awaitHealth(server, h -> h.get("active").getAsInt() == 1 && h.get("queued").getAsInt() == 0,
                    "the first request decoding");
            CompletableFuture<HttpResponse<InputStream>> second = http.sendAsync(request(server,
                    "/v1/chat/completions", chat("Me too", 5000, true)), HttpResponse.BodyHandlers.ofInputStream());
            awaitHealth(server, h -> h.get("queued").getAsInt() == 1, "one queued request");

            HttpResponse<String> third = http.send(request(server, "/v1/chat/completions", chat("And me", 4, false)),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(429, third.statusCode(), third.body());
            assertEquals("1", third.headers().firstValue("Retry-After").orElse(""));
            assertTrue(third.body().contains("\"queue_full\""), third.body());

            // The first client hangs up: its generation stops and the queued one takes its place.
            firstLines.close();
            HttpResponse<InputStream> secondResponse = second.get(120, TimeUnit.SECONDS);
            BufferedReader secondLines = new BufferedReader(new InputStreamReader(secondResponse.body(), StandardCharsets.UTF_8));
            secondLines.readLine();
            awaitHealth(server, h -> h.get("queued").getAsInt() == 0 && h.get("active").getAsInt() == 1,
                    "the second request decoding alone");
            secondLines.close();
            awaitHealth(server, h -> h.get("active").getAsInt() == 0, "no active sequence after both left");
        }
    }

    @Test
    void badRequestsBesideAStreamingOneDoNotDisturbIt() throws Exception {
        try (WoqServer server = TestServers.start(TestServers.options(null, 4, 8, 4096), QUIET)) {
            String alone = wholeReply(server, "Tell me about the sea", 60);
            CompletableFuture<HttpResponse<InputStream>> streaming = http.sendAsync(request(server,
                    "/v1/chat/completions", chat("Tell me about the sea", 60, true)), HttpResponse.BodyHandlers.ofInputStream());
            String[] bad = {"{not json", chat("x", 0, false), "{\"model\":\"nope\",\"messages\":[]}",
                "{\"model\":\"tiny\",\"prompt\":\"" + "y".repeat(5000) + "\"}"};
            for (String body : bad) {
                int status = http.send(request(server, "/v1/chat/completions", body), HttpResponse.BodyHandlers.ofString()).statusCode();
                assertTrue(status == 400 || status == 413, "bad request answered " + status);
            }
            assertEquals(alone, streamedReply(streaming.get(120, TimeUnit.SECONDS).body()));
        }
    }

    @Test
    void healthIs503WhileTheModelLoadsThen200() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        WoqServer.ModelLoader real = TestServers.loader();
        WoqServer.ModelLoader slow = () -> {
            release.await(120, TimeUnit.SECONDS);
            return real.call();
        };
        try (WoqServer server = WoqServer.start(TestServers.options(null, 1, 1, 1 << 20), slow, QUIET)) {
            assertEquals("loading", get(server, "/health", 503).get("status").getAsString());
            HttpResponse<String> early = http.send(request(server, "/v1/chat/completions", chat("Hi", 2, false)),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, early.statusCode(), early.body());
            assertTrue(early.body().contains("model_loading"), early.body());
            release.countDown();
            server.ready().get(120, TimeUnit.SECONDS);
            assertEquals("ok", get(server, "/health", 200).get("status").getAsString());
        }
    }
}
