package dev.woq.rag;

/** How passages are ranked. */
public enum SearchMode {
    /** Words: Lucene's BM25 over the passage text (English stemming, stop words dropped). */
    BM25,
    /** Meaning: nearest MiniLM vectors by cosine similarity (HNSW). */
    VECTOR,
    /** Both rankings fused by reciprocal rank fusion (1 / (60 + rank), summed). */
    HYBRID
}
