package dev.woq.runtime.generate;

/** Receives each generated token as soon as it is chosen (stop tokens included, last). */
@FunctionalInterface
public interface TokenListener {
    void onToken(int id);

    TokenListener NONE = id -> {};
}
