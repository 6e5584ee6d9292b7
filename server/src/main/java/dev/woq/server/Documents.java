package dev.woq.server;

import dev.woq.rag.DocumentIndex;
import dev.woq.rag.Embedder;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the server serves beside the language model: the embedding model of
 * {@code POST /v1/embeddings} and, when started with an index, the index of {@code POST /v1/search}.
 * Both work while the language model is still loading: they do not need it.
 */
public final class Documents implements AutoCloseable {
    /** Strings one {@code /v1/embeddings} request may hold: OpenAI's own limit, which clients batch to. */
    public static final int MAX_EMBEDDING_INPUTS = 2048;

    private final Supplier<? extends Embedder> loader;
    private final DocumentIndex index;
    private final Function<Path, String> showFile;
    private Embedder embedder;
    private boolean closed;

    private Documents(Supplier<? extends Embedder> loader, Embedder embedder, DocumentIndex index,
            Function<Path, String> showFile) {
        this.loader = loader;
        this.embedder = embedder;
        this.index = index;
        this.showFile = showFile;
    }

    /**
     * No index; the embedding model is loaded by {@code loader} on the first {@code /v1/embeddings}
     * request, so that a server only asked for chat never holds it (MiniLM and ONNX Runtime take
     * about 150 MB and a second or two to load).
     */
    public static Documents embeddingsOnly(Supplier<? extends Embedder> loader) {
        return new Documents(loader, null, null, null);
    }

    /**
     * An open index and the embedder it was opened with (already loaded: opening checked that
     * the index was built with it). Both are closed with the server.
     *
     * @param showFile how {@code /v1/search} writes a file's path, as {@code woq search --json} does
     */
    public static Documents withIndex(Embedder embedder, DocumentIndex index, Function<Path, String> showFile) {
        return new Documents(null, embedder, index, showFile);
    }

    /** The embedding model, loaded now if this is the first call. */
    synchronized Embedder embedder() {
        if (closed) {
            throw ApiError.internal("The server is stopping.");
        }
        if (embedder == null) {
            embedder = loader.get();
        }
        return embedder;
    }

    /** The index, or null when the server was started without one. */
    DocumentIndex index() {
        return index;
    }

    String showFile(Path file) {
        return showFile.apply(file);
    }

    @Override
    public synchronized void close() {
        closed = true;
        try {
            if (index != null) {
                index.close();
            }
        } finally {
            if (embedder != null) {
                embedder.close();
            }
        }
    }
}
