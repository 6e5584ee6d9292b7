package dev.woq.rag;

import dev.woq.runtime.generate.StopReason;
import java.util.List;

/**
 * A generated answer with the passages it was given.
 *
 * @param text the answer, special tokens left out
 * @param sources the passages in the prompt, numbered as the answer cites them
 * @param dropped retrieved passages that did not fit in the context (lowest ranks first to go)
 * @param timings where the time went
 * @param stopReason why generation ended
 */
public record Answer(String text, List<Source> sources, List<Hit> dropped, Timings timings, StopReason stopReason) {
    public Answer {
        sources = List.copyOf(sources);
        dropped = List.copyOf(dropped);
    }

    /**
     * @param retrieveMillis searching the index
     * @param promptTokens tokens of the chat prompt
     * @param timeToFirstTokenMillis from the start of prefill to the first answer token
     * @param tokensPerSecond decode speed after the first token (NaN for a one-token answer)
     */
    public record Timings(double retrieveMillis, int promptTokens, double timeToFirstTokenMillis, double tokensPerSecond) {}
}
