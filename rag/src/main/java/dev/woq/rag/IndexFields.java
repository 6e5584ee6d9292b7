package dev.woq.rag;

/** Field names and commit metadata keys of a woq document index, in one place. */
final class IndexFields {
    private IndexFields() {}

    /** "file" (one per indexed file: its hash) or "chunk" (one per passage). */
    static final String KIND = "kind";
    static final String KIND_FILE = "file";
    static final String KIND_CHUNK = "chunk";
    /** Absolute path of the file: the key that replaces and prunes. */
    static final String PATH = "path";
    static final String SHA256 = "sha256";
    static final String PAGES = "pages";
    static final String CHUNKS = "chunks";
    static final String PAGE = "page";
    static final String START = "start";
    static final String END = "end";
    /** The passage text: stored, and analyzed for BM25. */
    static final String TEXT = "text";
    /** The passage's embedding (HNSW, dot product of unit vectors = cosine). */
    static final String VECTOR = "vector";

    /** Commit metadata: what every vector and passage of the index was made with. */
    static final String META_FORMAT = "woq.format";
    static final String META_MODEL = "woq.embedding.model";
    static final String META_DIMENSIONS = "woq.embedding.dimensions";
    static final String META_CHUNKING = "woq.chunking";
    static final String FORMAT = "1";
}
