package dev.woq.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConcurrentRateTest {
    private static final long S = 1_000_000_000L;

    private static ServeLoad.Result stream(long... chunkSeconds) {
        ServeLoad.Result r = new ServeLoad.Result();
        for (long t : chunkSeconds) {
            r.chunkNanos.add(t * S);
        }
        return r;
    }

    @Test
    void countsOnlyTheChunksWhileEveryStreamIsDecoding() {
        // b starts at 4 s (a prefill paused nothing here); a ends at 8 s: the window is (4, 8].
        ServeLoad.Result a = stream(1, 2, 3, 4, 5, 6, 7, 8);
        ServeLoad.Result b = stream(4, 5, 6, 7, 8, 9, 10);

        // a: 5, 6, 7, 8; b: 5, 6, 7, 8 -> 8 chunks in 4 s
        assertEquals(2.0, ServeLoad.concurrentRate(List.of(a, b)), 1e-9);
    }

    @Test
    void oneStreamGivesItsOwnDecodeRate() {
        assertEquals(3.0 / 3.0, ServeLoad.concurrentRate(List.of(stream(2, 3, 4, 5))), 1e-9);
    }

    @Test
    void streamsThatNeverOverlapGiveNaN() {
        assertTrue(Double.isNaN(ServeLoad.concurrentRate(List.of(stream(1, 2), stream(3, 4)))));
    }

    @Test
    void failedRequestsAreLeftOut() {
        ServeLoad.Result failed = stream(100, 200);
        failed.error = "HTTP 429";
        assertEquals(1.0, ServeLoad.concurrentRate(List.of(stream(2, 3, 4, 5), failed)), 1e-9);
    }
}
