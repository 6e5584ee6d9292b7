package dev.woq.rag;

/** One MiniLM per test JVM: loading it takes a second or two. */
final class MiniLm {
    private static MiniLmEmbedder instance;

    private MiniLm() {}

    static synchronized MiniLmEmbedder get() {
        if (instance == null) {
            instance = MiniLmEmbedder.load(2);
        }
        return instance;
    }
}
