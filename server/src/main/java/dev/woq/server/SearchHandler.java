package dev.woq.server;

import com.google.gson.JsonObject;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.EmptyIndexException;
import dev.woq.rag.Hit;
import dev.woq.rag.SearchJson;
import dev.woq.rag.SearchMode;
import io.javalin.http.Context;
import java.util.List;
import java.util.Locale;

/**
 * {@code POST /v1/search} with {@code {query, top_k, mode}}: the index's best passages, in exactly
 * the JSON {@code woq search --json} prints ({@link SearchJson}). Defaults as the command's:
 * {@code top_k} 4, {@code mode} hybrid.
 */
final class SearchHandler {
    static final int DEFAULT_TOP_K = 4;
    /** More passages than a prompt can hold; a bound on the work one request asks for. */
    static final int MAX_TOP_K = 100;

    private final Documents documents;

    SearchHandler(Documents documents) {
        this.documents = documents;
    }

    void handle(Context ctx, String body) {
        DocumentIndex index = documents.index();
        if (index == null) {
            throw new ApiError(404, "invalid_request_error", "This server has no document index to search: start"
                    + " it with 'woq serve --index DIR' (an index made by 'woq index'). POST /v1/embeddings works"
                    + " without one.", null, "no_index");
        }
        JsonObject o = ApiRequestParser.object(body);
        String query = ApiRequestParser.string(o, "query", true);
        if (query.isBlank()) {
            throw ApiError.badRequest("query is empty: give some words to search for.", "query");
        }
        Integer topK = ApiRequestParser.integer(o, "top_k");
        int k = topK == null ? DEFAULT_TOP_K : topK;
        if (k < 1 || k > MAX_TOP_K) {
            throw ApiError.badRequest("top_k must be in [1, " + MAX_TOP_K + "], got " + k + ".", "top_k");
        }
        SearchMode mode = mode(ApiRequestParser.string(o, "mode", false));
        long start = System.nanoTime();
        List<Hit> hits;
        try {
            hits = index.search(query, mode, k);
        } catch (EmptyIndexException e) {
            throw new ApiError(409, "invalid_request_error", e.getMessage(), null, "empty_index");
        }
        double millis = (System.nanoTime() - start) / 1e6;
        ctx.contentType("application/json").result(SearchJson.write(query, mode, hits, millis, documents::showFile));
    }

    private static SearchMode mode(String mode) {
        if (mode == null) {
            return SearchMode.HYBRID;
        }
        try {
            return SearchMode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("mode must be \"hybrid\", \"vector\" or \"bm25\", got \"" + mode + "\".", "mode");
        }
    }
}
