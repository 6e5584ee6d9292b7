package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** woq serve as OpenAI's official Java client sees it: models, chat and completions, streamed and not. */
class OpenAiClientTest {
    private static final String KEY = "sk-test-4f9c";
    private static final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private static WoqServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(TestServers.options(KEY, 4, 8, 1 << 20),
                new PrintStream(logBytes, true, StandardCharsets.UTF_8));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey(KEY)
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static ChatCompletionCreateParams.Builder chat(String message, int maxTokens) {
        return ChatCompletionCreateParams.builder()
                .model(ChatModel.of(TestServers.MODEL))
                .addSystemMessage("You are brief.")
                .addUserMessage(message)
                .maxCompletionTokens(maxTokens)
                .temperature(0.0);
    }

    @Test
    void listsTheServedModel() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals(TestServers.MODEL, models.get(0).id());
    }

    @Test
    void aChatCompletionHasTheReplyTheFinishReasonAndUsage() {
        ChatCompletion c = client.chat().completions().create(chat("Hello there", 12).build());
        assertEquals(1, c.choices().size());
        ChatCompletion.Choice choice = c.choices().get(0);
        assertTrue(choice.message().content().isPresent());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason(),
                "random weights rarely say <|eot_id|> within 12 tokens");
        assertEquals(12, c.usage().orElseThrow().completionTokens());
        assertTrue(c.usage().orElseThrow().promptTokens() > 10);
        assertTrue(c.id().startsWith("chatcmpl-"));
    }

    @Test
    void streamingGivesTheSameTextAsAWholeReplyThenUsage() {
        String whole = client.chat().completions().create(chat("Tell me a story", 16).build())
                .choices().get(0).message().content().orElse("");
        StringBuilder streamed = new StringBuilder();
        List<String> finishReasons = new ArrayList<>();
        long[] usage = {-1};
        ChatCompletionCreateParams params = chat("Tell me a story", 16)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        int chunks = 0;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                chunks++;
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(streamed::append);
                    choice.finishReason().ifPresent(f -> finishReasons.add(f.asString()));
                }
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            }
        }
        assertEquals(whole, streamed.toString());
        assertTrue(chunks > 3, "tokens arrive as separate chunks: " + chunks);
        assertEquals(List.of("length"), finishReasons);
        assertEquals(16, usage[0]);
    }

    @Test
    void aStopStringEndsTheReplyBeforeIt() {
        String whole = client.chat().completions().create(chat("Count for me", 24).build())
                .choices().get(0).message().content().orElse("");
        // Cut at a piece of the reply itself: the reply must end just before it, with "stop".
        String stop = whole.substring(whole.length() / 2, whole.length() / 2 + 3);
        ChatCompletion c = client.chat().completions().create(chat("Count for me", 24).stop(stop).build());
        String cut = c.choices().get(0).message().content().orElse("");
        assertEquals(whole.substring(0, whole.indexOf(stop)), cut);
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.choices().get(0).finishReason());
    }

    @Test
    void aRawCompletionContinuesThePrompt() {
        Completion c = client.completions().create(CompletionCreateParams.builder()
                .model(TestServers.MODEL).prompt("Once upon a time").maxTokens(10).temperature(0.0).build());
        assertEquals(1, c.choices().size());
        assertFalse(c.choices().get(0).text().isEmpty());
        assertEquals(10, c.usage().orElseThrow().completionTokens());
        assertEquals(5, c.usage().orElseThrow().promptTokens(), "BOS + 4 words");
    }

    @Test
    void theSameSeedGivesTheSameSampledReply() {
        ChatCompletionCreateParams params = chat("Pick a word", 10).temperature(0.9).seed(42L).build();
        String first = client.chat().completions().create(params).choices().get(0).message().content().orElse("");
        String second = client.chat().completions().create(params).choices().get(0).message().content().orElse("");
        assertEquals(first, second);
    }

    @Test
    void everyRequestIsLoggedOnOneLineWithoutTheKey() {
        client.chat().completions().create(chat("Log me", 4).build());
        String log = logBytes.toString(StandardCharsets.UTF_8);
        assertTrue(log.lines().anyMatch(l -> l.contains("POST /v1/chat/completions 200") && l.contains("out=4")), log);
        assertFalse(log.contains(KEY), "the key is never logged");
    }
}
