package dev.woq.runtime.generate;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.util.ProcessMemory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Generates for several requests at once by continuous batching: the sequences in flight are
 * decoded together, one {@link LlamaModel#decode(List, int[])} step for all of them, and a new
 * request joins between two steps (its prompt is prefilled, then it decodes with the others).
 * Decode reads every weight once per step whatever the batch, so a batch of four costs the
 * memory-bound step far less than four steps.
 *
 * <p>Prompts are prefilled one chunk ({@link LlamaModel#prefillChunk()} tokens) between two
 * decode steps, oldest request first, so a stream already decoding never waits for more than
 * one chunk however long a newer prompt is. With a {@link PrefixCache}, a prompt that starts
 * like an earlier one (the same system prompt) takes that prefix's keys and values and computes
 * only the rest; {@link Outcome#cachedPromptTokens()} says how many it took.
 *
 * <p>One thread, owned by the batcher, runs the model; {@link #submit} only queues. Listeners are
 * called on that thread, so they must hand tokens on and return at once. A finished, failed or
 * cancelled sequence's KV cache is freed before the next step, and when the last one ends the
 * freed native memory goes back to the operating system.
 */
public final class ContinuousBatcher implements AutoCloseable {
    /** What a request hears, on the batcher's thread. */
    public interface Listener {
        /** The next token was chosen (stop tokens included, as the last one). */
        void onToken(int id);

        /** Generation ended; called once, unless {@link #onError} is. */
        void onDone(Outcome outcome);

        /** The model failed; the request is over. */
        void onError(RuntimeException error);

        /**
         * A chunk of the prompt was prefilled: {@code done} of its {@code total} tokens are in the
         * KV cache (reused ones included). Called after each chunk, before the first token.
         */
        default void onPrefill(int done, int total) {}
    }

    /**
     * How a request went.
     *
     * @param queuedNanos from {@link #submit} until its prefill began
     * @param firstTokenNanos from {@link #submit} until its first token
     * @param decodeNanos from its first token until its last
     * @param cachedPromptTokens prompt tokens whose keys and values came from the prefix cache
     *     rather than being computed
     */
    public record Outcome(
            int promptTokens, int generatedTokens, StopReason reason, long queuedNanos, long firstTokenNanos,
            long decodeNanos, int cachedPromptTokens) {
        /** Tokens per second after the first one (0 when only one was generated). */
        public double decodeTokensPerSecond() {
            return generatedTokens > 1 && decodeNanos > 0 ? (generatedTokens - 1) / (decodeNanos / 1e9) : 0;
        }
    }

    /** Refused because {@code maxQueued} requests already wait. */
    public static final class QueueFullException extends WoqException {
        QueueFullException(int queued) {
            super(queued + " requests are already waiting: try again shortly");
        }
    }

    /** A submitted request: lets its owner stop it (a client that went away). */
    public static final class Ticket {
        private volatile boolean cancelled;

        /** Stops the request before its next token; its KV cache is freed. */
        public void cancel() {
            cancelled = true;
        }

        public boolean isCancelled() {
            return cancelled;
        }
    }

    private final LlamaModel model;
    private final int maxActive;
    private final BlockingQueue<Request> queue;
    private final List<Sequence> active = new ArrayList<>(); // decoding
    private final List<Sequence> prefilling = new ArrayList<>(); // oldest first
    private final PrefixCache prefixes;
    private final Thread worker;
    private volatile boolean closed;

    /**
     * @param maxActive sequences decoded together at most
     * @param maxQueued requests waiting for a place at most; more are refused
     */
    public ContinuousBatcher(LlamaModel model, int maxActive, int maxQueued) {
        this(model, maxActive, maxQueued, 0);
    }

    /**
     * @param maxActive sequences in flight (prefilling or decoding) at most
     * @param maxQueued requests waiting for a place at most; more are refused
     * @param prefixCacheBytes native memory for the KV caches of recent prompts, reused by prompts
     *     that start the same way; 0 turns reuse off
     */
    public ContinuousBatcher(LlamaModel model, int maxActive, int maxQueued, long prefixCacheBytes) {
        if (maxActive < 1 || maxQueued < 0) {
            throw new IllegalArgumentException("maxActive must be >= 1 and maxQueued >= 0: " + maxActive + ", " + maxQueued);
        }
        this.model = model;
        this.maxActive = maxActive;
        this.queue = new ArrayBlockingQueue<>(Math.max(1, maxQueued));
        this.prefixes = new PrefixCache(prefixCacheBytes);
        this.worker = new Thread(this::run, "woq-batcher");
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /**
     * Queues a request. The prompt must leave room for at least one token in the model's context.
     *
     * @throws QueueFullException when the queue is full
     * @throws WoqException when the prompt is empty or too long
     */
    public Ticket submit(int[] promptIds, GenerationConfig config, Listener listener) {
        int context = model.config().maxPositionEmbeddings();
        if (promptIds.length == 0) {
            throw new WoqException("The prompt is empty: give at least one token");
        }
        if (promptIds.length >= context) {
            throw new WoqException("The prompt has " + promptIds.length + " tokens but the model's context holds "
                    + context + " (and at least one must be left to generate): shorten the prompt");
        }
        int vocab = model.config().vocabSize();
        for (int id : promptIds) {
            if (id < 0 || id >= vocab) {
                throw new WoqException("Token id " + id + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        if (closed) {
            throw new WoqException("The batcher is closed");
        }
        Request request = new Request(promptIds.clone(), config, listener, new Ticket(), System.nanoTime());
        if (!queue.offer(request)) {
            throw new QueueFullException(queue.size());
        }
        return request.ticket;
    }

    /** Sequences in flight now: being decoded, or their prompt being prefilled. */
    public synchronized int activeCount() {
        return active.size() + prefilling.size();
    }

    /** Requests waiting for a place. */
    public int queuedCount() {
        return queue.size();
    }

    private void run() {
        boolean busy = false;
        try {
            warmUp();
            while (!closed) {
                if (activeCount() == 0 && queue.isEmpty() && busy) {
                    // Idle after a burst: hand the freed KV caches' pages back to the OS, so the
                    // process returns to its baseline instead of staying at its high-water mark.
                    ProcessMemory.trimNativeHeap();
                    busy = false;
                }
                Request next = activeCount() < maxActive
                        ? (activeCount() == 0 ? queue.poll(100, TimeUnit.MILLISECONDS) : queue.poll())
                        : null;
                if (next != null) {
                    busy = true;
                    start(next);
                }
                dropCancelled();
                // At most one chunk of prompt between two decode steps.
                if (!prefilling.isEmpty()) {
                    prefillChunk();
                }
                if (!active.isEmpty()) {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (this) {
                for (Sequence s : active) {
                    s.finish(StopReason.CANCELLED);
                }
                active.clear();
                for (Sequence s : prefilling) {
                    s.finish(StopReason.CANCELLED);
                }
                prefilling.clear();
            }
            prefixes.close();
            for (Request r; (r = queue.poll()) != null; ) {
                r.listener.onDone(new Outcome(r.prompt.length, 0, StopReason.CANCELLED, 0, 0, 0, 0));
            }
        }
    }

    /**
     * Warms the model up on this thread, the one that generates (libgomp keeps a team of threads
     * per calling thread), so the first request is served at the steady speed. A request that
     * arrives meanwhile waits for it, as it would have paid the same cost itself.
     */
    private void warmUp() {
        try {
            Warmup.run(model);
        } catch (RuntimeException e) {
            // A model that cannot run fails each request with this same error, where a client
            // hears of it; the batcher itself stays up.
        }
    }

    /** Opens a new request's session, restores what the prefix cache holds of its prompt, and queues its prefill. */
    private void start(Request request) {
        long began = System.nanoTime();
        if (request.ticket.cancelled) {
            request.listener.onDone(new Outcome(request.prompt.length, 0, StopReason.CANCELLED,
                    began - request.submitted, 0, 0, 0));
            return;
        }
        int capacity = (int) Math.min(model.config().maxPositionEmbeddings(),
                (long) request.prompt.length + request.config.maxNewTokens());
        InferenceSession session = model.newSession(capacity);
        int reused;
        try {
            reused = prefixes.restore(session, request.prompt);
        } catch (RuntimeException e) {
            session.close();
            request.listener.onError(e);
            return;
        }
        synchronized (this) {
            prefilling.add(new Sequence(request, session, began, reused));
        }
    }

    /**
     * The next chunk of the oldest prompt being prefilled; when it was the last, the request
     * chooses its first token and joins the decoding batch.
     */
    private void prefillChunk() {
        Sequence s = prefilling.get(0);
        int[] prompt = s.request.prompt;
        int from = s.session.position();
        int to = Math.min(prompt.length, from + model.prefillChunk());
        float[] logits;
        try {
            logits = s.session.prefill(Arrays.copyOfRange(prompt, from, to));
            s.request.listener.onPrefill(to, prompt.length);
            if (to == prompt.length) {
                prefixes.store(s.session, prompt);
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                prefilling.remove(0);
            }
            s.session.close();
            s.request.listener.onError(e);
            return;
        }
        if (to < prompt.length) {
            return;
        }
        synchronized (this) {
            prefilling.remove(0);
        }
        StopReason ended = s.accept(logits);
        if (ended == null) {
            synchronized (this) {
                active.add(s);
            }
        } else {
            s.finish(ended);
        }
    }

    private void dropCancelled() {
        synchronized (this) {
            for (List<Sequence> list : List.of(active, prefilling)) {
                for (Iterator<Sequence> it = list.iterator(); it.hasNext(); ) {
                    Sequence s = it.next();
                    if (s.request.ticket.cancelled) {
                        it.remove();
                        s.finish(StopReason.CANCELLED);
                    }
                }
            }
        }
    }

    /** One decode step for every active sequence. */
    private void step() {
        List<InferenceSession> sessions = new ArrayList<>(active.size());
        int[] ids = new int[active.size()];
        for (int b = 0; b < active.size(); b++) {
            sessions.add(active.get(b).session);
            ids[b] = active.get(b).last;
        }
        float[][] logits;
        try {
            logits = model.decode(sessions, ids);
        } catch (RuntimeException e) {
            synchronized (this) {
                for (Sequence s : active) {
                    s.session.close();
                    s.request.listener.onError(e);
                }
                active.clear();
            }
            return;
        }
        List<Sequence> finished = new ArrayList<>();
        List<StopReason> reasons = new ArrayList<>();
        for (int b = 0; b < logits.length; b++) {
            Sequence s = active.get(b);
            StopReason ended = s.accept(logits[b]);
            if (ended != null) {
                finished.add(s);
                reasons.add(ended);
            }
        }
        synchronized (this) {
            active.removeAll(finished);
        }
        for (int i = 0; i < finished.size(); i++) {
            finished.get(i).finish(reasons.get(i));
        }
    }

    /** Stops the batcher: sequences in flight and queued requests end as cancelled. */
    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Request(int[] prompt, GenerationConfig config, Listener listener, Ticket ticket, long submitted) { }

    /** A request in the batch: its session, and how it picks tokens and stops ({@link NextToken}). */
    private final class Sequence {
        final Request request;
        final InferenceSession session;
        final NextToken chooser;
        final long began;
        final int cachedPromptTokens;
        long firstToken;
        int last;

        Sequence(Request request, InferenceSession session, long began, int cachedPromptTokens) {
            this.request = request;
            this.session = session;
            this.began = began;
            this.cachedPromptTokens = cachedPromptTokens;
            this.chooser = new NextToken(request.config, model.config().eosTokenIds(), request.prompt);
        }

        /** Chooses the next token from {@code logits} and hands it on; returns why it ended, or null. */
        StopReason accept(float[] logits) {
            int next = chooser.choose(logits);
            if (chooser.generated() == 1) {
                firstToken = System.nanoTime();
            }
            last = next;
            try {
                request.listener.onToken(next);
            } catch (RuntimeException listenerFailed) {
                request.ticket.cancel();
            }
            return chooser.stopAfter(next, () -> request.ticket.cancelled, session);
        }

        int generated() {
            return chooser.generated();
        }

        void finish(StopReason reason) {
            session.close();
            long end = System.nanoTime();
            request.listener.onDone(new Outcome(
                    request.prompt.length, generated(), reason, began - request.submitted,
                    generated() > 0 ? firstToken - request.submitted : 0, generated() > 0 ? end - firstToken : 0,
                    cachedPromptTokens));
        }
    }
}
