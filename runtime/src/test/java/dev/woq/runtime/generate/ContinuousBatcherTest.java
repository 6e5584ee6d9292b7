package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ContinuousBatcherTest {
    private static final int[][] PROMPTS = {
        {128000, 9906, 11, 1917},
        {128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053},
        {128000, 40},
        {128000, 40, 1097, 264, 1296},
    };
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void requestsDecodedTogetherGetTheTokensEachGetsAlone() throws Exception {
        GenerationConfig config = GenerationConfig.greedy(12, Set.of());
        List<int[]> alone = new ArrayList<>();
        for (int[] prompt : PROMPTS) {
            alone.add(new Generator(model).generate(prompt, config, id -> { }).generatedIds());
        }
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 4, 8)) {
            List<Collector> collectors = new ArrayList<>();
            for (int[] prompt : PROMPTS) {
                Collector c = new Collector();
                batcher.submit(prompt, config, c);
                collectors.add(c);
            }
            for (int i = 0; i < PROMPTS.length; i++) {
                ContinuousBatcher.Outcome outcome = collectors.get(i).done.get(60, TimeUnit.SECONDS);
                assertArrayEquals(alone.get(i), collectors.get(i).ids(), "request " + i);
                assertEquals(PROMPTS[i].length, outcome.promptTokens());
                assertEquals(alone.get(i).length, outcome.generatedTokens());
            }
            assertEquals(0, batcher.activeCount());
        }
    }

    @Test
    void aCancelledRequestStopsAndLeavesTheBatch() throws Exception {
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 4, 8)) {
            Collector endless = new Collector();
            ContinuousBatcher.Ticket ticket = batcher.submit(PROMPTS[0], GenerationConfig.greedy(5000, Set.of()), endless);
            Collector short1 = new Collector();
            batcher.submit(PROMPTS[1], GenerationConfig.greedy(8, Set.of()), short1);
            assertEquals(StopReason.MAX_NEW_TOKENS, short1.done.get(60, TimeUnit.SECONDS).reason());
            ticket.cancel();
            ContinuousBatcher.Outcome outcome = endless.done.get(60, TimeUnit.SECONDS);
            assertEquals(StopReason.CANCELLED, outcome.reason());
            assertTrue(outcome.generatedTokens() < 5000);
            assertEquals(0, batcher.activeCount());
        }
    }

    @Test
    void aFullQueueRefusesAndTheOthersStillFinish() throws Exception {
        CountDownLatch firstTokenSeen = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 1, 1)) {
            Collector holding = new Collector() {
                @Override
                public void onToken(int id) {
                    super.onToken(id);
                    firstTokenSeen.countDown();
                    await(release);
                }
            };
            batcher.submit(PROMPTS[0], GenerationConfig.greedy(3, Set.of()), holding);
            assertTrue(firstTokenSeen.await(60, TimeUnit.SECONDS));
            Collector waiting = new Collector();
            batcher.submit(PROMPTS[1], GenerationConfig.greedy(3, Set.of()), waiting);
            assertThrows(ContinuousBatcher.QueueFullException.class,
                    () -> batcher.submit(PROMPTS[2], GenerationConfig.greedy(3, Set.of()), new Collector()));
            release.countDown();
            assertEquals(3, holding.done.get(60, TimeUnit.SECONDS).generatedTokens());
            assertEquals(3, waiting.done.get(60, TimeUnit.SECONDS).generatedTokens());
        }
    }

    @Test
    void aPromptThatFillsTheContextIsRefusedWithBothCounts() {
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 1, 1)) {
            int[] huge = new int[model.config().maxPositionEmbeddings()];
            var e = assertThrows(dev.woq.runtime.WoqException.class,
                    () -> batcher.submit(huge, GenerationConfig.greedy(3, Set.of()), new Collector()));
            assertTrue(e.getMessage().contains(huge.length + " tokens") && e.getMessage().contains("holds 8192"), e.getMessage());
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static class Collector implements ContinuousBatcher.Listener {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<ContinuousBatcher.Outcome> done = new CompletableFuture<>();

        @Override
        public void onToken(int id) {
            synchronized (tokens) {
                tokens.add(id);
            }
        }

        @Override
        public void onDone(ContinuousBatcher.Outcome outcome) {
            done.complete(outcome);
        }

        @Override
        public void onError(RuntimeException error) {
            done.completeExceptionally(error);
        }

        int[] ids() {
            synchronized (tokens) {
                return tokens.stream().mapToInt(Integer::intValue).toArray();
            }
        }
    }
}
