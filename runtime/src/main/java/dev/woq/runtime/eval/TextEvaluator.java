package dev.woq.runtime.eval;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import java.util.Arrays;

/**
 * Scores a tokenized text with a candidate model, and with a reference model on the same tokens,
 * the way llama.cpp's {@code llama-perplexity} does: the text is cut into {@code floor(tokens /
 * context)} windows of {@code context} tokens (a shorter tail is dropped), the first token of each
 * window is replaced by BOS, and only the second half of each window is scored (positions {@code
 * context/2 .. context-2}, each predicting the token after it), so every scored token has at least
 * half a window of context.
 *
 * <p>Memory stays bounded: the first half of a window is prefilled keeping only the KV cache, then
 * the scored half runs through both models in pieces of {@link #PIECE} positions, whose logits
 * ({@code PIECE x vocab} floats a model: 33 MB for Llama 3) are folded into {@link NextTokenStats}
 * and dropped. The two models are mapped at once.
 */
public final class TextEvaluator {
    /** Positions whose logits are held at once. */
    public static final int PIECE = 64;

    /** Smallest context window: a scored half needs at least one position. */
    public static final int MIN_CONTEXT = 4;

    /** Receives progress after every window. */
    @FunctionalInterface
    public interface Progress {
        void update(int chunksDone, int chunksTotal);

        Progress NONE = (a, b) -> {};
    }

    private TextEvaluator() {}

    /**
     * Scores {@code tokens} (the text's ids, without BOS).
     *
     * @param candidate the model measured
     * @param reference the model it is compared with, or {@code null} for perplexity only
     * @param context tokens per window, {@link #MIN_CONTEXT} to the models' context length
     * @throws WoqException when the text is shorter than one window, the context is out of range, or
     *     the two models' vocabularies differ
     */
    public static EvalResult evaluate(LlamaModel candidate, LlamaModel reference, int[] tokens, int context,
            Progress progress) {
        return evaluate(candidate, reference, tokens, context, PIECE, progress);
    }

    /** As {@link #evaluate(LlamaModel, LlamaModel, int[], int, Progress)}, holding {@code piece} positions' logits at once. */
    public static EvalResult evaluate(LlamaModel candidate, LlamaModel reference, int[] tokens, int context, int piece,
            Progress progress) {
        if (piece < 1) {
            throw new IllegalArgumentException("piece " + piece);
        }
        int maxContext = candidate.config().maxPositionEmbeddings();
        if (reference != null) {
            maxContext = Math.min(maxContext, reference.config().maxPositionEmbeddings());
            if (reference.config().vocabSize() != candidate.config().vocabSize()) {
                throw new WoqException("The reference has a vocabulary of " + reference.config().vocabSize()
                        + " tokens but the model " + candidate.config().vocabSize()
                        + ": compare two versions of the same model.");
            }
        }
        if (context < MIN_CONTEXT || context > maxContext) {
            throw new WoqException("--context " + context + " is out of range: choose " + MIN_CONTEXT + ".." + maxContext
                    + " tokens (the model's context length).");
        }
        int chunks = tokens.length / context;
        if (chunks == 0) {
            throw new WoqException("The text has " + tokens.length + " tokens, fewer than one window of " + context
                    + ": pass a longer text or a smaller --context.");
        }
        int bos = candidate.config().bosTokenId();
        int first = context / 2;
        NextTokenStats stats = new NextTokenStats(reference != null);
        try (InferenceSession c = candidate.newSession(context);
                InferenceSession r = reference == null ? null : reference.newSession(context)) {
            progress.update(0, chunks);
            for (int chunk = 0; chunk < chunks; chunk++) {
                int[] ids = Arrays.copyOfRange(tokens, chunk * context, (chunk + 1) * context);
                ids[0] = bos;
                c.reset();
                c.prefill(Arrays.copyOfRange(ids, 0, first));
                if (r != null) {
                    r.reset();
                    r.prefill(Arrays.copyOfRange(ids, 0, first));
                }
                // Position j's logits predict ids[j + 1]: score j in [first, context - 1).
                for (int start = first; start < context - 1; start += piece) {
                    int end = Math.min(context - 1, start + piece);
                    int[] window = Arrays.copyOfRange(ids, start, end);
                    float[][] q = c.prefillAll(window);
                    float[][] p = r == null ? null : r.prefillAll(window);
                    for (int j = 0; j < window.length; j++) {
                        stats.add(q[j], p == null ? null : p[j], ids[start + j + 1]);
                    }
                }
                progress.update(chunk + 1, chunks);
            }
        }
        return stats.result(chunks, context);
    }
}
