package dev.woq.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.generate.StopReason;
import dev.woq.runtime.generate.TokenListener;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.TokenizerLocations;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Multi-turn chat on the tiny synthetic checkpoint with the real Llama 3 tokenizer. */
class ConversationTest {
    private static LlamaModel model;
    private static Llama3Tokenizer tokenizer;
    private static Llama3ChatTemplate template;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
        tokenizer = Llama3Tokenizer.load(TokenizerLocations.requireDefaultTokenizerJson());
        template = new Llama3ChatTemplate(tokenizer);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    private static GenerationConfig greedy(int maxNewTokens) {
        return GenerationConfig.greedy(maxNewTokens, Set.of());
    }

    private static int newTurnTokens(String user) {
        return template.encodeMessage(new Message(Role.USER, user)).length
                + template.encodeHeader(Role.ASSISTANT).length;
    }

    @Test
    void laterTurnsComputeOnlyTheirOwnMessageAndTheLastReplyToken() {
        try (Conversation chat = new Conversation(model, tokenizer, 1024)) {
            chat.setSystemPrompt("You are brief.");
            ChatReply first = chat.reply("Tell me about llamas, please, at some length.", greedy(24), s -> {}, () -> false);
            assertEquals(0, first.reusedTokens());
            ChatReply second = chat.reply("And alpacas?", greedy(8), s -> {}, () -> false);
            // Uncached: the first reply's last token (and the <|eot_id|> closing it, when the
            // reply was cut by the length limit), then the new message and the assistant header.
            int expectedFresh = newTurnTokens("And alpacas?")
                    + (first.generation().stopReason() == StopReason.STOP_TOKEN ? 1 : 2);
            assertEquals(expectedFresh, second.prefilledTokens());
            assertEquals(first.contextUsed() - expectedFresh + newTurnTokens("And alpacas?"), second.reusedTokens());
            assertTrue(second.reusedTokens() > 30, "the system prompt and the first turn came from the cache");
        }
    }

    @Test
    void aCachedTurnGivesTheSameNextTokenDistributionAsTheWholeDialogComputedAfresh() {
        try (Conversation chat = new Conversation(model, tokenizer, 1024)) {
            ChatReply first = chat.reply("Hello there", greedy(6), s -> {}, () -> false);
            ChatReply second = chat.reply("What next?", greedy(4), s -> {}, () -> false);

            // The same dialog as ids, computed in one fresh prefill.
            int[] userIds = template.encodeMessage(new Message(Role.USER, "Hello there"));
            int[] header = template.encodeHeader(Role.ASSISTANT);
            int[] generated = first.generation().generatedIds();
            int[] content = first.generation().stopReason() == StopReason.STOP_TOKEN
                    ? java.util.Arrays.copyOf(generated, generated.length - 1) : generated;
            int[] next = template.encodeMessage(new Message(Role.USER, "What next?"));
            int[] whole = concat(new int[] {model.config().bosTokenId()}, userIds, header, content,
                    new int[] {template.endOfTurnId()}, next, header);
            GenerationResult fresh = new Generator(model).generate(whole, greedy(1), TokenListener.NONE);

            float[] a = fresh.firstLogits();
            float[] b = second.generation().firstLogits();
            assertTrue(cosine(a, b) > 0.999, "cosine " + cosine(a, b));
            assertEquals(whole.length, second.reusedTokens() + second.prefilledTokens());
        }
    }

    @Test
    void oldestTurnsAreDroppedWhenTheContextFillsButNeverTheSystemPrompt() {
        try (Conversation chat = new Conversation(model, tokenizer, 96)) {
            chat.setSystemPrompt("Stay on topic.");
            int dropped = 0;
            for (int i = 0; i < 8; i++) {
                ChatReply r = chat.reply("Question number " + i + " about the weather today?", greedy(12), s -> {}, () -> false);
                dropped += r.droppedTurns();
                assertTrue(r.contextUsed() <= 96, "context used " + r.contextUsed());
            }
            assertTrue(dropped > 0, "eight turns of ~30 tokens cannot all fit in 96");
            List<Message> messages = chat.messages();
            assertEquals(new Message(Role.SYSTEM, "Stay on topic."), messages.get(0));
            assertEquals("Question number 7 about the weather today?", messages.get(messages.size() - 2).content());
            assertTrue(messages.size() < 1 + 2 * 8);
        }
    }

    @Test
    void cancellingStopsTheReplyAfterTheTokenInProgressAndKeepsIt() {
        try (Conversation chat = new Conversation(model, tokenizer, 1024)) {
            AtomicInteger tokens = new AtomicInteger();
            StringBuilder shown = new StringBuilder();
            ChatReply r = chat.reply("Count to one hundred.", new GenerationConfig(200, 0.9, 0, 1, 1, 3, Set.of()),
                    shown::append, () -> tokens.incrementAndGet() >= 3);
            assertEquals(StopReason.CANCELLED, r.generation().stopReason());
            assertEquals(3, r.generation().generatedIds().length);
            assertEquals(shown.toString(), r.text());
            assertEquals(r.text(), chat.messages().get(1).content());
            ChatReply next = chat.reply("Go on.", greedy(3), s -> {}, () -> false);
            assertEquals(3, next.generation().generatedIds().length, "the conversation carries on");
        }
    }

    @Test
    void aMessageThatCannotFitIsRefusedWithTheCountsAndChangesNothing() {
        try (Conversation chat = new Conversation(model, tokenizer, 32)) {
            chat.reply("Hi", greedy(2), s -> {}, () -> false);
            List<Message> before = chat.messages();
            WoqException e = assertThrows(WoqException.class, () -> chat.reply(
                    "word ".repeat(40), greedy(4), s -> {}, () -> false));
            assertTrue(e.getMessage().contains("holds 32"), e.getMessage());
            assertEquals(before, chat.messages());
            ChatReply after = chat.reply("Hi again", greedy(2), s -> {}, () -> false);
            assertTrue(after.contextUsed() <= 32);
        }
    }

    @Test
    void resetKeepsTheSystemPromptAndItsCachedTokens() {
        try (Conversation chat = new Conversation(model, tokenizer, 512)) {
            chat.setSystemPrompt("You are a helpful assistant.");
            chat.reply("First question?", greedy(4), s -> {}, () -> false);
            chat.reset();
            assertEquals(1, chat.messages().size());
            ChatReply r = chat.reply("Another question?", greedy(4), s -> {}, () -> false);
            int systemTokens = template.encodeMessage(new Message(Role.SYSTEM, "You are a helpful assistant.")).length;
            // Reused: begin-of-text, the system message and the next user message's header.
            assertEquals(1 + systemTokens + template.encodeHeader(Role.USER).length, r.reusedTokens());
            assertEquals(3, chat.messages().size());
        }
    }

    @Test
    void changingTheSystemPromptRecomputesEverythingAfterBeginOfText() {
        try (Conversation chat = new Conversation(model, tokenizer, 512)) {
            chat.setSystemPrompt("Be formal.");
            chat.reply("Hello", greedy(4), s -> {}, () -> false);
            chat.setSystemPrompt("Be casual.");
            ChatReply r = chat.reply("Hello again", greedy(4), s -> {}, () -> false);
            assertTrue(r.reusedTokens() < 8, "only the begin-of-text and the shared system header: " + r.reusedTokens());
            assertEquals("Be casual.", chat.messages().get(0).content());
            assertEquals(5, chat.messages().size());
        }
    }

    @Test
    void aContextLargerThanTheModelsIsRefused() {
        int max = model.config().maxPositionEmbeddings();
        WoqException e = assertThrows(WoqException.class, () -> new Conversation(model, tokenizer, max + 1));
        assertTrue(e.getMessage().contains(String.valueOf(max + 1)), e.getMessage());
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
