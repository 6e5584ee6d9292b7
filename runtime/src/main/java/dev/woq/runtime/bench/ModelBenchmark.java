package dev.woq.runtime.bench;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.generate.Warmup;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import java.util.Arrays;

/**
 * Times prefill and decode of a loaded model: after one untimed warm-up, each run prefills the
 * same prompt in a fresh session, picks the argmax, and decodes {@code newTokens - 1} more steps
 * regardless of end tokens.
 */
public final class ModelBenchmark {
    private ModelBenchmark() {}

    /**
     * One timed run.
     *
     * @param promptTokens prompt length
     * @param prefillNanos the prompt through the model
     * @param timeToFirstTokenNanos prefill plus choosing the first token
     * @param stepNanos each decode step after the first token, in order
     */
    public record Run(int promptTokens, long prefillNanos, long timeToFirstTokenNanos, long[] stepNanos) {
        public double prefillTokensPerSecond() {
            return promptTokens / (prefillNanos / 1e9);
        }

        /** Tokens per second from the median step, which one slow step (a page fault, a noisy neighbour) does not move. */
        public double decodeTokensPerSecond() {
            return 1e9 / medianStepNanos();
        }

        public double medianStepNanos() {
            return Spread.of(Arrays.stream(stepNanos).asDoubleStream().toArray()).median();
        }
    }

    /**
     * What several runs measured.
     *
     * @param runs every run, in order
     * @param timeToFirstTokenMillis over runs
     * @param prefillTokensPerSecond over runs
     * @param decodeTokensPerSecond over runs, each from its median step
     * @param medianStepMillis the median over runs of each run's median step
     */
    public record Measurement(
            Run[] runs, Spread timeToFirstTokenMillis, Spread prefillTokensPerSecond, Spread decodeTokensPerSecond,
            double medianStepMillis) {}

    /** BOS, then a fixed spread of ordinary token ids: the content does not change the cost. */
    public static int[] prompt(int n, int bos) {
        int[] ids = new int[n];
        ids[0] = bos;
        for (int i = 1; i < n; i++) {
            ids[i] = 1000 + 7 * i;
        }
        return ids;
    }

    /**
     * Warms up, then times {@code runs} runs of a {@code promptTokens} prompt and {@code newTokens}
     * generated tokens.
     *
     * @throws WoqException if the prompt and the new tokens do not fit in the model's context
     */
    public static Measurement measure(LlamaModel model, int promptTokens, int newTokens, int runs) {
        int context = model.config().maxPositionEmbeddings();
        if (promptTokens < 1 || newTokens < 2 || runs < 1) {
            throw new WoqException("A benchmark needs a prompt of at least 1 token, at least 2 new tokens and 1 run; got "
                    + promptTokens + ", " + newTokens + ", " + runs);
        }
        if (promptTokens + newTokens > context) {
            throw new WoqException("A prompt of " + promptTokens + " tokens and " + newTokens
                    + " new tokens do not fit in the model's context of " + context + " tokens");
        }
        int[] prompt = prompt(promptTokens, model.config().bosTokenId());
        // Warm-up: the first touches of mapped weights are page faults, not the steady state. The
        // same one woq chat and the server run before their first prompt.
        Warmup.run(model);
        Run[] all = new Run[runs];
        double[] ttft = new double[runs];
        double[] prefill = new double[runs];
        double[] decode = new double[runs];
        double[] steps = new double[runs];
        for (int i = 0; i < runs; i++) {
            all[i] = run(model, prompt, newTokens);
            ttft[i] = all[i].timeToFirstTokenNanos() / 1e6;
            prefill[i] = all[i].prefillTokensPerSecond();
            decode[i] = all[i].decodeTokensPerSecond();
            steps[i] = all[i].medianStepNanos() / 1e6;
        }
        return new Measurement(all, Spread.of(ttft), Spread.of(prefill), Spread.of(decode), Spread.of(steps).median());
    }

    /** One run in a fresh session: prefill, argmax, then {@code newTokens - 1} timed decode steps. */
    public static Run run(LlamaModel model, int[] prompt, int newTokens) {
        return decode(model, prompt, newTokens, new int[newTokens]);
    }

    /**
     * The {@code newTokens} ids a run generates after {@code prompt}: what the bench times, and so
     * what every other way of generating greedily must print (they stop at end tokens; this does not).
     */
    public static int[] greedyIds(LlamaModel model, int[] prompt, int newTokens) {
        int[] ids = new int[newTokens];
        decode(model, prompt, newTokens, ids);
        return ids;
    }

    /** The bench loop: times a run, writing the chosen ids to {@code ids}. */
    private static Run decode(LlamaModel model, int[] prompt, int newTokens, int[] ids) {
        try (InferenceSession session = model.newSession(prompt.length + newTokens)) {
            long start = System.nanoTime();
            float[] logits = session.prefill(prompt);
            long prefill = System.nanoTime() - start;
            int next = argmax(logits);
            long ttft = System.nanoTime() - start;
            ids[0] = next;
            long[] steps = new long[newTokens - 1];
            for (int i = 0; i < steps.length; i++) {
                long t = System.nanoTime();
                next = argmax(session.decode(next));
                steps[i] = System.nanoTime() - t;
                ids[i + 1] = next;
            }
            return new Run(prompt.length, prefill, ttft, steps);
        }
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
