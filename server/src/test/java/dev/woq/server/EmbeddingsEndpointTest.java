package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.rag.MiniLmEmbedder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/embeddings} over real HTTP against a running server (the tiny model, MiniLM
 * loaded on the first request): the vectors are MiniLM's own, the usage its token counts, and bad
 * input is refused with 400 naming what was wrong. Without an index, {@code /v1/search} is 404.
 */
class EmbeddingsEndpointTest {
    /** Vectors from the server and from MiniLM here may differ in rounding (thread counts differ). */
    private static final double TOLERANCE = 1e-5;
    private static WoqServer server;
    private static MiniLmEmbedder minilm;
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(TestServers.options(null, 2, 4, 1 << 20),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        minilm = MiniLmEmbedder.load(2);
    }

    @AfterAll
    static void stop() {
        server.close();
        minilm.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonObject ok(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private static JsonObject error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
    }

    private static float[] vector(JsonObject item) {
        JsonArray a = item.getAsJsonArray("embedding");
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    private static void assertSameVector(float[] expected, float[] actual) {
        assertEquals(384, actual.length);
        double norm = 0;
        double maxDiff = 0;
        for (int i = 0; i < actual.length; i++) {
            norm += actual[i] * actual[i];
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        assertEquals(1.0, Math.sqrt(norm), 1e-5, "unit length");
        assertTrue(maxDiff < TOLERANCE, "differs from MiniLM's own vector by up to " + maxDiff);
    }

    @Test
    void aStringGivesOneUnitVectorOfMiniLmWithItsTokenCount() throws Exception {
        String text = "The fire assembly point is the parking lot behind the bakery.";
        JsonObject r = ok(post("/v1/embeddings", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"" + text + "\"}"));
        assertEquals("list", r.get("object").getAsString());
        assertEquals(MiniLmEmbedder.MODEL_ID, r.get("model").getAsString());
        JsonArray data = r.getAsJsonArray("data");
        assertEquals(1, data.size());
        JsonObject item = data.get(0).getAsJsonObject();
        assertEquals("embedding", item.get("object").getAsString());
        assertEquals(0, item.get("index").getAsInt());
        assertSameVector(minilm.embed(List.of(text))[0], vector(item));
        int tokens = minilm.countTokens(text);
        assertTrue(tokens > 10, "word pieces with [CLS] and [SEP]: " + tokens);
        assertEquals(tokens, r.getAsJsonObject("usage").get("prompt_tokens").getAsInt());
        assertEquals(tokens, r.getAsJsonObject("usage").get("total_tokens").getAsInt());
    }

    @Test
    void anArrayGivesAVectorPerStringInOrderAndSumsTheirTokens() throws Exception {
        List<String> texts = List.of("Hotel rooms are refunded up to 140 euros per night.", "Hello",
                "Every employee receives twenty-seven days of paid vacation per calendar year.");
        JsonObject r = ok(post("/v1/embeddings", "{\"input\":[\"" + String.join("\",\"", texts) + "\"]}"));
        JsonArray data = r.getAsJsonArray("data");
        assertEquals(3, data.size());
        float[][] expected = minilm.embed(texts);
        int tokens = 0;
        for (int i = 0; i < 3; i++) {
            assertEquals(i, data.get(i).getAsJsonObject().get("index").getAsInt());
            assertSameVector(expected[i], vector(data.get(i).getAsJsonObject()));
            tokens += minilm.countTokens(texts.get(i));
        }
        assertEquals(tokens, r.getAsJsonObject("usage").get("prompt_tokens").getAsInt());
    }

    @Test
    void base64EncodingIsTheSameVectorAsLittleEndianFloats() throws Exception {
        JsonObject floats = ok(post("/v1/embeddings", "{\"input\":\"boiler service\"}"));
        JsonObject packed = ok(post("/v1/embeddings", "{\"input\":\"boiler service\",\"encoding_format\":\"base64\"}"));
        byte[] bytes = Base64.getDecoder().decode(
                packed.getAsJsonArray("data").get(0).getAsJsonObject().get("embedding").getAsString());
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[bytes.length / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getFloat();
        }
        assertSameVector(vector(floats.getAsJsonArray("data").get(0).getAsJsonObject()), v);
    }

    @Test
    void badInputIs400NamingWhatWasWrong() throws Exception {
        assertEquals("input is required: a string, or an array of up to 2048 strings.",
                error(post("/v1/embeddings", "{\"model\":\"all-MiniLM-L6-v2\"}"), 400).get("message").getAsString());
        assertTrue(error(post("/v1/embeddings", "{\"input\":\"  \"}"), 400).get("message").getAsString()
                .startsWith("input is empty"));
        assertTrue(error(post("/v1/embeddings", "{\"input\":[]}"), 400).get("message").getAsString()
                .startsWith("input is an empty array"));
        assertTrue(error(post("/v1/embeddings", "{\"input\":42}"), 400).get("message").getAsString()
                .contains("must be a string or an array of strings, got a number"));
        JsonObject e = error(post("/v1/embeddings", "{\"input\":[\"fine\",[1,2,3]]}"), 400);
        assertTrue(e.get("message").getAsString().startsWith("input[1] must be a string, got an array"), e.toString());
        assertEquals("input", e.get("param").getAsString());
        e = error(post("/v1/embeddings", "{\"input\":[\"fine\",\"\"]}"), 400);
        assertTrue(e.get("message").getAsString().startsWith("input[1] is empty"), e.toString());
        String tooMany = "{\"input\":[\"a\"" + ",\"a\"".repeat(Documents.MAX_EMBEDDING_INPUTS) + "]}";
        assertTrue(error(post("/v1/embeddings", tooMany), 400).get("message").getAsString()
                .startsWith("input has 2049 strings; at most 2048 per request"));
        e = error(post("/v1/embeddings", "{\"input\":[\"short\",\"" + "word ".repeat(300) + "\"]}"), 400);
        assertEquals("context_length_exceeded", e.get("code").getAsString());
        assertTrue(e.get("message").getAsString().startsWith("input[1] is 302 tokens long, but "
                + MiniLmEmbedder.MODEL_ID + " reads at most 256"), e.toString());
        assertEquals("dimensions", error(post("/v1/embeddings", "{\"input\":\"x\",\"dimensions\":512}"), 400)
                .get("param").getAsString());
        assertEquals("encoding_format", error(post("/v1/embeddings",
                "{\"input\":\"x\",\"encoding_format\":\"int8\"}"), 400).get("param").getAsString());
        assertTrue(error(post("/v1/embeddings", "[\"x\"]"), 400).get("message").getAsString()
                .contains("must be a JSON object"));
    }

    @Test
    void anotherModelNameIs404SayingWhichModelEmbeds() throws Exception {
        JsonObject e = error(post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}"), 404);
        assertEquals("model_not_found", e.get("code").getAsString());
        assertTrue(e.get("message").getAsString().contains("embeds with '" + MiniLmEmbedder.MODEL_ID + "'"), e.toString());
    }

    @Test
    void searchWithoutAnIndexIs404SayingToStartWithIndex() throws Exception {
        JsonObject e = error(post("/v1/search", "{\"query\":\"vacation days\"}"), 404);
        assertEquals("no_index", e.get("code").getAsString());
        assertTrue(e.get("message").getAsString().contains("'woq serve --index DIR'"), e.toString());
    }

    @Test
    void theUnknownEndpointMessageListsTheNewEndpoints() throws Exception {
        String message = error(post("/v1/embedding", "{}"), 404).get("message").getAsString();
        assertTrue(message.contains("POST /v1/embeddings") && message.contains("POST /v1/search"), message);
    }
}
