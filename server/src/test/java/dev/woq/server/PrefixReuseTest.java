package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A server with a prefix cache, as OpenAI's Java client sees it: a request whose prompt starts
 * like an earlier one reports the reused tokens as {@code usage.prompt_tokens_details.cached_tokens},
 * and the log line says {@code cached=N}.
 */
class PrefixReuseTest {
    private static final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private static WoqServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(new ServerOptions("127.0.0.1", 0, null, 2, 4, 1 << 20, 64L << 20),
                new PrintStream(logBytes, true, StandardCharsets.UTF_8));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aRepeatedSystemPromptIsReusedAndReportedAsCachedTokens() {
        String system = "Answer from the notes below. " + "The quick brown fox jumps over the lazy dog. ".repeat(8);
        ChatCompletion first = client.chat().completions().create(withSystem(system, "What does the fox do?"));
        ChatCompletion second = client.chat().completions().create(withSystem(system, "Where is the dog?"));
        ChatCompletion again = client.chat().completions().create(withSystem(system, "Where is the dog?"));
        long systemTokens = 90; // 8 x 10 words and the instruction, inside Llama 3's system header
        assertEquals(0, cached(first), "nothing was cached before");
        assertTrue(cached(second) > systemTokens && cached(second) < second.usage().orElseThrow().promptTokens(),
                "the system prompt is reused, the question computed: " + cached(second));
        assertEquals(again.usage().orElseThrow().promptTokens() - 1, cached(again), "all but the last token");
        String log = logBytes.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains(" cached=" + cached(again) + " "), "the log line reports the reuse: " + log);
    }

    private static ChatCompletionCreateParams withSystem(String system, String question) {
        return ChatCompletionCreateParams.builder()
                .model(ChatModel.of(TestServers.MODEL))
                .addSystemMessage(system)
                .addUserMessage(question)
                .maxCompletionTokens(4)
                .temperature(0.0)
                .build();
    }

    private static long cached(ChatCompletion c) {
        return c.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
    }

}
