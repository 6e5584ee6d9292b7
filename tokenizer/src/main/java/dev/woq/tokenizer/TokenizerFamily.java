package dev.woq.tokenizer;

/** The tokenizer families woq reads, each with its default chat format. */
public enum TokenizerFamily {
    /** Llama 2: SentencePiece BPE with byte fallback, 32,000 ids, {@code <s>} and {@code </s>}. */
    LLAMA2("Llama 2 (SentencePiece BPE)"),
    /** Llama 3, 3.1, 3.2: byte-level BPE, 128,256 ids, {@code <|begin_of_text|>} and headers. */
    LLAMA3("Llama 3 (byte-level BPE)");

    private final String description;

    TokenizerFamily(String description) {
        this.description = description;
    }

    /**
     * A name for messages.
     *
     * @return e.g. "Llama 2 (SentencePiece BPE)"
     */
    public String description() {
        return description;
    }
}
