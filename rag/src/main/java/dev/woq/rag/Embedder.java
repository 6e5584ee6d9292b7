package dev.woq.rag;

import java.util.List;

/** Turns texts into unit-length vectors; one model, named, so an index can refuse another. */
public interface Embedder extends AutoCloseable {
    /** The model's name as an index records it, e.g. {@code all-MiniLM-L6-v2}. */
    String modelId();

    /** Length of each vector. */
    int dimensions();

    /** The most tokens the model sees of one text, its special tokens included: more is cut off. */
    int maxTokens();

    /** Word-piece tokens of {@code text} as the model counts them, its special tokens included. */
    int countTokens(String text);

    /** One L2-normalized vector per text, in order. */
    float[][] embed(List<String> texts);

    @Override
    void close();
}
