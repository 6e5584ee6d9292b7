package dev.woq.runtime.generate;

import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;

/**
 * Brings a freshly loaded model to its steady speed before the first real prompt: one short
 * prefill and a few decode steps in a throwaway session. That reads every weight once (mapped
 * bf16 weights become resident, as far as memory allows, without a second copy), runs each
 * kernel once at both shapes a conversation uses (a prompt of several tokens, then one token), and
 * starts the OpenMP threads, so the first reply is as fast as the later ones.
 *
 * <p>Call it on the thread that will generate: libgomp keeps one team of threads per calling
 * thread.
 */
public final class Warmup {
    /** Prompt tokens of the warm-up prefill. */
    static final int PROMPT_TOKENS = 8;
    /** Decode steps after it. */
    static final int DECODE_STEPS = 3;

    private Warmup() {}

    /** Runs the warm-up and returns how long it took, in nanoseconds. */
    public static long run(LlamaModel model) {
        long start = System.nanoTime();
        int context = model.config().maxPositionEmbeddings();
        int steps = Math.min(DECODE_STEPS, context - 1);
        int[] prompt = new int[Math.max(1, Math.min(PROMPT_TOKENS, context - steps))];
        prompt[0] = model.config().bosTokenId();
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = (1000 + 7 * i) % model.config().vocabSize();
        }
        try (InferenceSession session = model.newSession(prompt.length + steps)) {
            int next = Sampler.argmax(session.prefill(prompt));
            for (int i = 0; i < steps; i++) {
                next = Sampler.argmax(session.decode(next));
            }
        }
        return System.nanoTime() - start;
    }
}
