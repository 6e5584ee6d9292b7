package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.util.ProcessMemory;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * Each decode step frees its tensors: after a warm-up, hundreds more tokens leave the resident
 * set where it was. A step that kept its tensors would hold at least its logits, bf16 and fp32
 * (128,256 x 6 bytes, about 750 KiB a token): 400 tokens would add some 290 MiB.
 */
class NativeMemoryDoesNotGrowTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13, 578, 4062, 14198};
    static final int WARM_UP_SESSIONS = 2;
    static final int SESSIONS = 8;
    static final int TOKENS_PER_SESSION = 50;
    static final long BOUND_BYTES = 64L << 20;

    @Test
    void residentMemoryStaysFlatOverManyDecodeSteps() {
        assumeTrue(ProcessMemory.rssBytes() > 0, "no /proc/self/status: cannot read the resident set");
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny())) {
            Generator generator = new Generator(model);
            GenerationConfig config = GenerationConfig.greedy(TOKENS_PER_SESSION, Set.of());
            // Warm-up: allocator pools, the kernels' first runs, the weights' pages.
            for (int i = 0; i < WARM_UP_SESSIONS; i++) {
                assertEquals(TOKENS_PER_SESSION, generator.generate(PROMPT, config, TokenListener.NONE).generatedIds().length);
            }
            long start = System.nanoTime();
            Memory before = Memory.settled();
            int generated = 0;
            for (int s = 0; s < SESSIONS; s++) {
                int[] prompt = PROMPT.clone();
                prompt[prompt.length - 1] = 1000 + s; // another sequence each time
                generated += generator.generate(prompt, config, TokenListener.NONE).generatedIds().length;
            }
            Memory after = Memory.settled();
            assertEquals(SESSIONS * TOKENS_PER_SESSION, generated);
            long growth = after.anonymous - before.anonymous;
            String report = String.format(
                    "%d tokens in %.1f s: RSS %d -> %d MiB, anonymous %d -> %d MiB (%+d KiB, %+d bytes a token;"
                            + " Java heap committed %d -> %d MiB)",
                    generated, (System.nanoTime() - start) / 1e9, before.rss >> 20, after.rss >> 20,
                    before.anonymous >> 20, after.anonymous >> 20, growth >> 10, growth / generated,
                    before.heapCommitted >> 20, after.heapCommitted >> 20);
            System.out.println("NativeMemoryDoesNotGrowTest: " + report);
            assertTrue(growth < BOUND_BYTES, "native memory grew: " + report);
        }
    }

    /**
     * The resident set, and its anonymous part where Linux reports it (RssAnon): tensors live
     * there, while the mapped weights are file pages that the OS may drop and fault back in
     * under memory pressure.
     */
    private record Memory(long rss, long anonymous, long heapCommitted) {
        /**
         * After a full collection, once the resident set has settled: G1 hands the heap regions it
         * shrank back to the OS concurrently, some 100 ms after {@code System.gc()} returns, and
         * until then they count as anonymous memory.
         */
        static Memory settled() {
            System.gc();
            long[] window = new long[4];
            for (int i = 0; i < 50; i++) {
                sleep(100);
                window[i % window.length] = anonymousOrRss();
                if (i >= window.length - 1
                        && LongStream.of(window).max().getAsLong() - LongStream.of(window).min().getAsLong() < (1 << 20)) {
                    break;
                }
            }
            return new Memory(ProcessMemory.rssBytes(), anonymousOrRss(),
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
        }

        private static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private static long anonymousOrRss() {
            long anon = rssAnon();
            return anon >= 0 ? anon : ProcessMemory.rssBytes();
        }

        private static long rssAnon() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("RssAnon:")) {
                        return Long.parseLong(line.substring(8).trim().split("\\s+")[0]) * 1024L;
                    }
                }
            } catch (IOException | RuntimeException e) {
                return -1;
            }
            return -1;
        }
    }
}
