package dev.woq.rag;

import java.util.List;

/** Cuts the text of one page into passages. */
public interface Chunker {
    /** The passages of {@code text}, in order; none that is only white space. */
    List<Span> split(String text);

    /** The chunker for {@code settings}; token budgets are counted with {@code embedder}'s tokenizer. */
    static Chunker of(ChunkSettings settings, Embedder embedder) {
        return switch (settings.unit()) {
            case TOKENS -> new TokenBudgetChunker(embedder, settings.size(), settings.overlap());
            case CHARS -> new CharWindowChunker(settings.size(), settings.overlap());
        };
    }
}
