package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad requests over raw HTTP: each gets its status and OpenAI's error body, naming what was wrong. */
class ServerErrorsTest {
    private static final String KEY = "sk-errors-1";
    private static WoqServer server;
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(TestServers.options(KEY, 2, 4, 64 * 1024),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonObject error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        JsonObject error = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
        assertTrue(error.has("message") && error.has("type") && error.has("param") && error.has("code"), r.body());
        return error;
    }

    private static String chat(String extra) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2" + extra + "}";
    }

    @Test
    void malformedJsonIs400() throws Exception {
        JsonObject e = error(post("/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [", KEY), 400);
        assertTrue(e.get("message").getAsString().contains("not valid JSON"), e.toString());
    }

    @Test
    void aFieldOfTheWrongTypeIs400AndNamed() throws Exception {
        JsonObject e = error(post("/v1/chat/completions", chat(",\"temperature\":\"hot\""), KEY), 400);
        assertEquals("temperature", e.get("param").getAsString());
        e = error(post("/v1/chat/completions", chat(",\"stream\":1"), KEY), 400);
        assertEquals("stream", e.get("param").getAsString());
        e = error(post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", KEY), 400);
        assertEquals("messages[0].role", e.get("param").getAsString());
    }

    @Test
    void anOutOfRangeValueIs400AndSaysTheRange() throws Exception {
        JsonObject e = error(post("/v1/chat/completions", chat(",\"temperature\":3.5"), KEY), 400);
        assertTrue(e.get("message").getAsString().contains("[0, 2]"), e.toString());
        e = error(post("/v1/chat/completions", chat(",\"top_p\":1.5"), KEY), 400);
        assertEquals("top_p", e.get("param").getAsString());
        e = error(post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":0}", KEY), 400);
        assertEquals("max_tokens", e.get("param").getAsString());
    }

    @Test
    void aPromptLongerThanTheContextIs400WithBothCounts() throws Exception {
        String prompt = "hello ".repeat(9000);
        JsonObject e = error(post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"" + prompt + "\",\"max_tokens\":4}", KEY), 400);
        String message = e.get("message").getAsString();
        assertTrue(message.contains("8192") && message.matches(".*is 9\\d\\d\\d tokens long.*"), message);
        assertEquals("context_length_exceeded", e.get("code").getAsString());
    }

    @Test
    void aWrongOrMissingKeyIs401() throws Exception {
        error(post("/v1/chat/completions", chat(""), null), 401);
        JsonObject e = error(post("/v1/chat/completions", chat(""), "sk-wrong"), 401);
        assertEquals("invalid_api_key", e.get("code").getAsString());
    }

    @Test
    void anUnknownModelIs404() throws Exception {
        JsonObject e = error(post("/v1/chat/completions",
                "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", KEY), 404);
        assertEquals("model_not_found", e.get("code").getAsString());
        assertTrue(e.get("message").getAsString().contains("'tiny'"), e.toString());
    }

    @Test
    void anUnknownEndpointIs404InOpenAisShape() throws Exception {
        JsonObject e = error(post("/v1/images/generations", "{}", KEY), 404);
        assertTrue(e.get("message").getAsString().contains("/v1/images/generations"), e.toString());
    }

    @Test
    void anOversizedBodyIs413() throws Exception {
        String big = "x".repeat(100 * 1024);
        JsonObject e = error(post("/v1/chat/completions",
                "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"" + big + "\"}]}", KEY), 413);
        assertTrue(e.get("message").getAsString().contains("65536"), e.toString());
    }

    @Test
    void healthAndModelsAnswerWhenLoaded() throws Exception {
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode(), health.body());
        assertTrue(health.body().contains("\"ok\""), health.body());
    }
}
