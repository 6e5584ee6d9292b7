package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The batcher prefills a long prompt one chunk between two decode steps of the streams already
 * running, and reuses the KV cache of a prompt's prefix that an earlier request computed.
 */
class ChunkedServingTest {
    private static final int CHUNK = 16;
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
        model.setPrefillChunk(CHUNK);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void aRunningStreamWaitsAtMostOneChunkWhileALongPromptPrefills() throws Exception {
        int[] longPrompt = prompt(160, 1);
        int[] alone = new Generator(model).generate(longPrompt, GenerationConfig.greedy(4, Set.of()), id -> { })
                .generatedIds();
        List<String> events = new ArrayList<>(); // written on the batcher's thread only
        CountDownLatch streaming = new CountDownLatch(1);
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 4, 4)) {
            Recorder stream = new Recorder(events, "A") {
                @Override
                public void onToken(int id) {
                    super.onToken(id);
                    streaming.countDown();
                }
            };
            ContinuousBatcher.Ticket running = batcher.submit(prompt(8, 2), GenerationConfig.greedy(5000, Set.of()), stream);
            assertTrue(streaming.await(60, TimeUnit.SECONDS));
            Recorder late = new Recorder(events, "B");
            batcher.submit(longPrompt, GenerationConfig.greedy(4, Set.of()), late);
            ContinuousBatcher.Outcome outcome = late.done.get(120, TimeUnit.SECONDS);
            running.cancel();
            stream.done.get(60, TimeUnit.SECONDS);

            assertArrayEquals(alone, late.ids(), "chunked in the batcher, the long prompt gives the tokens it gets alone");
            assertEquals(0, outcome.cachedPromptTokens());
            List<String> seen;
            synchronized (events) {
                seen = List.copyOf(events);
            }
            List<String> chunks = seen.stream().filter(e -> e.startsWith("B prefill")).toList();
            List<String> expected = new ArrayList<>();
            for (int done = CHUNK; done <= longPrompt.length; done += CHUNK) {
                expected.add("B prefill " + done);
            }
            assertEquals(expected, chunks, "160 tokens in chunks of 16");
            int first = seen.indexOf(chunks.get(0));
            int last = seen.indexOf(chunks.get(chunks.size() - 1));
            for (int i = first; i < last; i++) {
                if (seen.get(i).startsWith("B prefill")) {
                    assertEquals("A token", seen.get(i + 1),
                            "after chunk " + seen.get(i) + " the running stream decodes before the next chunk: " + seen);
                }
            }
        }
    }

    @Test
    void aSharedPrefixIsReusedAndGivesTheTokensOfAFullPrefill() throws Exception {
        int[] system = prompt(40, 3);
        int[] first = concat(system, new int[] {1917, 13, 578});
        int[] second = concat(system, new int[] {40, 1097, 264, 1296});
        GenerationConfig config = GenerationConfig.greedy(6, Set.of());
        int[] secondAlone = new Generator(model).generate(second, config, id -> { }).generatedIds();
        int[] firstAlone = new Generator(model).generate(first, config, id -> { }).generatedIds();
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 2, 4, 16L << 20)) {
            Recorder a = new Recorder(new ArrayList<>(), "A");
            batcher.submit(first, config, a);
            assertEquals(0, a.done.get(60, TimeUnit.SECONDS).cachedPromptTokens());

            Recorder b = new Recorder(new ArrayList<>(), "B");
            batcher.submit(second, config, b);
            ContinuousBatcher.Outcome reused = b.done.get(60, TimeUnit.SECONDS);
            assertEquals(system.length, reused.cachedPromptTokens(), "the system prompt is taken, the rest computed");
            assertArrayEquals(secondAlone, b.ids());

            Recorder again = new Recorder(new ArrayList<>(), "C");
            batcher.submit(first, config, again);
            assertEquals(first.length - 1, again.done.get(60, TimeUnit.SECONDS).cachedPromptTokens(),
                    "a repeated prompt computes only its last token");
            assertArrayEquals(firstAlone, again.ids());
        }
    }

    @Test
    void thePrefixCacheStaysWithinItsBytesAndDropsTheLeastRecentlyUsed() {
        int[] a = prompt(40, 4);
        int[] b = prompt(40, 5);
        int[] c = prompt(40, 6);
        long perPrompt;
        try (InferenceSession s = model.newSession(64)) {
            s.prefill(a);
            try (var copy = s.snapshot(a.length)) {
                perPrompt = copy.bytes();
            }
        }
        // tiny: 2 layers x (keys + values) x 2 KV heads x 32 x bf16 = 512 bytes per position
        assertEquals(40L * 512, perPrompt);
        try (PrefixCache cache = new PrefixCache(2 * perPrompt + perPrompt / 2)) {
            store(cache, a);
            store(cache, b);
            assertEquals(2, cache.size());
            try (InferenceSession s = model.newSession(64)) {
                assertEquals(a.length - 1, cache.restore(s, a), "a is held; restoring marks it recently used");
            }
            store(cache, c); // over the bound: b, the least recently used, goes
            assertEquals(2, cache.size());
            assertTrue(cache.bytes() <= 2 * perPrompt + perPrompt / 2, "bytes " + cache.bytes());
            try (InferenceSession s = model.newSession(64)) {
                assertEquals(1, cache.restore(s, b), "b was dropped: only the begin-of-text token it shares with a and c is found");
                assertNotEquals(0, cache.restore(s, a));
            }
        }
    }

    private static void store(PrefixCache cache, int[] prompt) {
        try (InferenceSession s = model.newSession(64)) {
            s.prefill(prompt);
            cache.store(s, prompt);
        }
    }

    /** Begin-of-text, then ordinary token ids. */
    private static int[] prompt(int length, long seed) {
        Random random = new Random(seed);
        int[] ids = new int[length];
        ids[0] = 128000;
        for (int i = 1; i < length; i++) {
            ids[i] = 100 + random.nextInt(4000);
        }
        return ids;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Writes "NAME token" and "NAME prefill DONE" into a shared, ordered list of events. */
    private static class Recorder implements ContinuousBatcher.Listener {
        final List<String> events;
        final String name;
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<ContinuousBatcher.Outcome> done = new CompletableFuture<>();

        Recorder(List<String> events, String name) {
            this.events = events;
            this.name = name;
        }

        @Override
        public void onToken(int id) {
            synchronized (events) {
                events.add(name + " token");
                tokens.add(id);
            }
        }

        @Override
        public void onPrefill(int doneTokens, int total) {
            synchronized (events) {
                events.add(name + " prefill " + doneTokens);
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
            synchronized (events) {
                return tokens.stream().mapToInt(Integer::intValue).toArray();
            }
        }
    }
}
