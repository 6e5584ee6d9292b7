package dev.woq.runtime.generate;

/** Why generation ended. */
public enum StopReason {
    /** A stop token (eos of the model or the chat format) was generated. */
    STOP_TOKEN,
    /** {@code maxNewTokens} were generated. */
    MAX_NEW_TOKENS,
    /** The sequence filled the model's context length. */
    CONTEXT_FULL,
    /** The caller asked to stop (Ctrl-C in the chat, a client that went away). */
    CANCELLED
}
