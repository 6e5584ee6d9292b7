package dev.woq.runtime.generate;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * Prefill then decode: runs the prompt through the model once, then one token at a time, handing
 * each token to a listener as soon as it is chosen.
 */
public final class Generator {
    private final LlamaModel model;

    public Generator(LlamaModel model) {
        this.model = model;
    }

    /** Generates a continuation of {@code promptIds} in a fresh session sized for it. */
    public GenerationResult generate(int[] promptIds, GenerationConfig config, TokenListener listener) {
        int context = model.config().maxPositionEmbeddings();
        if (promptIds.length == 0) {
            throw new WoqException("The prompt is empty: give at least one token");
        }
        if (promptIds.length >= context) {
            throw new WoqException(
                    "The prompt has " + promptIds.length + " tokens but the model's context holds "
                            + context + " (and at least one must be left to generate): shorten the prompt");
        }
        int capacity = (int) Math.min(context, (long) promptIds.length + config.maxNewTokens());
        try (InferenceSession session = model.newSession(capacity)) {
            return continueSession(session, promptIds, config, listener);
        }
    }

    /**
     * Appends {@code newIds} to the session's sequence and generates after them, so a chat turn
     * only pays for its own tokens. The cache then holds the sequence up to, but not including,
     * the last generated token (nothing was computed after it): a next turn starts with that id.
     */
    public GenerationResult continueSession(
            InferenceSession session, int[] newIds, GenerationConfig config, TokenListener listener) {
        return continueSession(session, newIds, config, listener, () -> false);
    }

    /**
     * As {@link #continueSession(InferenceSession, int[], GenerationConfig, TokenListener)}, and
     * stops with {@link StopReason#CANCELLED} as soon as {@code cancelled} answers true. It is
     * asked after each token is handed to the listener, so a cancelled reply keeps the tokens the
     * listener already saw, and at least one token is always generated.
     */
    public GenerationResult continueSession(
            InferenceSession session, int[] newIds, GenerationConfig config, TokenListener listener,
            BooleanSupplier cancelled) {
        int vocab = model.config().vocabSize();
        for (int id : newIds) {
            if (id < 0 || id >= vocab) {
                throw new WoqException("Token id " + id + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        NextToken chooser = new NextToken(config, model.config().eosTokenIds(), newIds);
        long start = System.nanoTime();
        float[] logits = session.prefill(newIds);
        long prefill = System.nanoTime() - start;
        float[] firstLogits = logits.clone();

        int[] out = new int[config.maxNewTokens()];
        int n = 0;
        long ttft = 0;
        long decodeStart = 0;
        StopReason reason = StopReason.MAX_NEW_TOKENS;
        while (true) {
            int next = chooser.choose(logits);
            if (n == 0) {
                ttft = System.nanoTime() - start;
                decodeStart = System.nanoTime();
            }
            out[n++] = next;
            listener.onToken(next);
            StopReason ended = chooser.stopAfter(next, cancelled, session);
            if (ended != null) {
                reason = ended;
                break;
            }
            logits = session.decode(next);
        }
        long decode = System.nanoTime() - decodeStart;
        return new GenerationResult(newIds.clone(), Arrays.copyOf(out, n), firstLogits, reason, prefill, ttft, decode);
    }
}
