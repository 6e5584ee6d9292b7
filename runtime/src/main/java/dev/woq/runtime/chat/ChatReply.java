package dev.woq.runtime.chat;

import dev.woq.runtime.generate.GenerationResult;

/**
 * One assistant turn and what it cost.
 *
 * @param text the reply without control tokens
 * @param generation the generated ids, stop reason and timings; its prompt is only the tokens
 *     this turn had to compute (the rest came from the KV cache)
 * @param reusedTokens prompt tokens whose keys and values were already cached from earlier turns
 * @param droppedTurns turns dropped from the start of the dialog to make room for this one
 * @param contextUsed tokens the conversation occupies after this reply
 * @param contextSize tokens the conversation may hold
 */
public record ChatReply(
        String text, GenerationResult generation, int reusedTokens, int droppedTurns, int contextUsed,
        int contextSize) {

    /** Prompt tokens this turn computed: its own message, plus history the cache could not keep. */
    public int prefilledTokens() {
        return generation.promptIds().length;
    }
}
