package dev.woq.server;

import dev.woq.runtime.generate.ContinuousBatcher;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Hands a request's tokens from the batcher's thread to the HTTP thread that answers it, so the
 * batch never waits on a client's socket.
 */
final class GenerationEvents implements ContinuousBatcher.Listener {
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

    @Override
    public void onToken(int id) {
        events.add(id);
    }

    @Override
    public void onDone(ContinuousBatcher.Outcome outcome) {
        events.add(outcome);
    }

    @Override
    public void onError(RuntimeException error) {
        events.add(error);
    }

    /** The next event: an {@link Integer} token id, the {@link ContinuousBatcher.Outcome}, or a {@link RuntimeException}. */
    Object next() throws InterruptedException {
        return events.take();
    }

    /** As {@link #next}, or null when none arrives within {@code millis}. */
    Object next(long millis) throws InterruptedException {
        return events.poll(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
}
