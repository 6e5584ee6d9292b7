package dev.woq.runtime.generate;

import dev.woq.runtime.model.InferenceSession;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * How one sequence picks each next token and knows when to stop, the same for {@link Generator}
 * (one sequence) and {@link ContinuousBatcher} (many): the repetition penalty over everything the
 * sequence holds, its own seeded {@link Sampler}, then the stop conditions in a fixed order (an
 * end token, {@code max_new_tokens}, a cancel, a full context).
 */
final class NextToken {
    private final GenerationConfig config;
    private final Sampler sampler;
    private final RepetitionPenalty penalty;
    private final Set<Integer> stops;
    private int generated;

    /**
     * @param endTokenIds the model's own end tokens, stopping besides the config's stop ids
     * @param context the tokens already in the sequence (the prompt), which the penalty counts
     */
    NextToken(GenerationConfig config, Collection<Integer> endTokenIds, int[] context) {
        this.config = config;
        this.sampler = Sampler.of(config);
        this.penalty = new RepetitionPenalty(config.repetitionPenalty());
        this.stops = new HashSet<>(config.stopTokenIds());
        this.stops.addAll(endTokenIds);
        for (int id : context) {
            penalty.observe(id);
        }
    }

    /** Penalizes {@code logits} in place, samples the next token and counts it. */
    int choose(float[] logits) {
        penalty.apply(logits);
        int next = sampler.sample(logits);
        penalty.observe(next);
        generated++;
        return next;
    }

    /** Tokens chosen so far. */
    int generated() {
        return generated;
    }

    /**
     * Why the sequence ends after {@code token}, the one just chosen, or null to go on. The cancel is
     * asked only when nothing else ends it, after the token was handed on.
     */
    StopReason stopAfter(int token, BooleanSupplier cancelled, InferenceSession session) {
        if (stops.contains(token)) {
            return StopReason.STOP_TOKEN;
        }
        if (generated == config.maxNewTokens()) {
            return StopReason.MAX_NEW_TOKENS;
        }
        if (cancelled.getAsBoolean()) {
            return StopReason.CANCELLED;
        }
        if (session.position() >= session.capacity()) {
            return StopReason.CONTEXT_FULL;
        }
        return null;
    }
}
