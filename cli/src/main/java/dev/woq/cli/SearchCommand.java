package dev.woq.cli;

import dev.woq.rag.DocumentIndex;
import dev.woq.rag.Hit;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.SearchJson;
import dev.woq.rag.SearchMode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code woq search}: retrieval only, the passages that best match a query. */
@Command(
        name = "search",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Search an index: rank, score, file, page, passage.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq search --index ~/idx 'minimum guarantee payable'",
            "  woq search --index ~/idx --mode bm25 --top-k 10 'Mill Street'",
            "  woq search --index ~/idx --json 'vacation days' | jq '.results[0]'"
        })
final class SearchCommand implements Callable<Integer> {
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    Path index;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "4", description = "Passages to show (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "hybrid",
            description = "hybrid (BM25 and vectors fused by reciprocal rank), vector or bm25 (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--json", description = "Print one JSON object: query, mode, results, retrieve_ms.")
    boolean json;

    @Mixin
    RuntimeOptions runtime;

    @Parameters(paramLabel = "QUERY", arity = "1", description = "What to look for.")
    String query;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        SearchMode searchMode = parseMode(mode);
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(runtime.threads);
                DocumentIndex idx = DocumentIndex.open(index, minilm)) {
            long start = System.nanoTime();
            List<Hit> hits = idx.search(query, searchMode, topK);
            double millis = (System.nanoTime() - start) / 1e6;
            Places places = new Places();
            if (json) {
                out.println(SearchJson.write(query, searchMode, hits, millis, places::show));
            } else {
                for (Hit h : hits) {
                    out.printf(Locale.ROOT, "%d. %s, %s (score %.4f)%n   %s%n", h.rank(), places.show(h.file()),
                            h.page() > 0 ? "page " + h.page() : "no pages", h.score(), snippet(h.text(), 240));
                }
            }
            out.flush();
            return 0;
        }
    }

    static SearchMode parseMode(String mode) {
        try {
            return SearchMode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new dev.woq.runtime.ConfigException("--mode must be hybrid, vector or bm25, got '" + mode + "'");
        }
    }

    static String snippet(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 3) + "...";
    }
}
