package dev.woq.rag;

import com.google.gson.GsonBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The JSON of a search, written in one place so that {@code woq search --json} and the server's
 * {@code POST /v1/search} answer alike:
 * {@code {query, mode, results: [{rank, score, file, page, start, end, text}], retrieve_ms}}, with
 * {@code page} null for a file without pages.
 */
public final class SearchJson {
    private SearchJson() {}

    /**
     * One search as a JSON object on one line.
     *
     * @param showFile how a file's path is written (the CLI shows it relative to the working directory)
     */
    public static String write(String query, SearchMode mode, List<Hit> hits, double retrieveMillis,
            Function<Path, String> showFile) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("query", query);
        m.put("mode", mode.name().toLowerCase(Locale.ROOT));
        List<Map<String, Object>> results = new ArrayList<>();
        for (Hit h : hits) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rank", h.rank());
            r.put("score", h.score());
            r.put("file", showFile.apply(h.file()));
            r.put("page", h.pageOrNull());
            r.put("start", h.start());
            r.put("end", h.end());
            r.put("text", h.text());
            results.add(r);
        }
        m.put("results", results);
        m.put("retrieve_ms", retrieveMillis);
        return new GsonBuilder().serializeNulls().create().toJson(m);
    }
}
