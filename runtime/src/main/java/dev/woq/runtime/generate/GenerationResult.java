package dev.woq.runtime.generate;

/**
 * What one generation produced and how long it took.
 *
 * @param promptIds the prompt's ids
 * @param generatedIds generated ids, including a final stop token if one ended generation
 * @param firstLogits fp32 logits at the last prompt position: the first token's distribution
 * @param stopReason why it ended
 * @param prefillNanos time to run the prompt through the model
 * @param timeToFirstTokenNanos from the start of prefill until the first token was chosen
 * @param decodeNanos time spent producing the tokens after the first
 */
public record GenerationResult(
        int[] promptIds, int[] generatedIds, float[] firstLogits, StopReason stopReason,
        long prefillNanos, long timeToFirstTokenNanos, long decodeNanos) {

    /** Prompt tokens per second of prefill. */
    public double prefillTokensPerSecond() {
        return promptIds.length / (prefillNanos / 1e9);
    }

    /** Tokens per second after the first (each one a full decode step); NaN with a single token. */
    public double decodeTokensPerSecond() {
        int steps = generatedIds.length - 1;
        return steps > 0 ? steps / (decodeNanos / 1e9) : Double.NaN;
    }
}
