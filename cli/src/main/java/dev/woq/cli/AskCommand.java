package dev.woq.cli;

import com.google.gson.GsonBuilder;
import dev.woq.rag.Answer;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.DocumentQa;
import dev.woq.rag.Hit;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.SearchMode;
import dev.woq.rag.Source;
import dev.woq.runtime.LocalModel;
import dev.woq.runtime.generate.GenerationConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code woq ask}: a question over an index, answered by the local model with cited passages. */
@Command(
        name = "ask",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Answer from an index's passages, citing their pages.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq ask --index ~/idx --model llama3-8b --dtype int4 --stream \\",
            "      'What is the minimum guarantee?'",
            "  woq ask --index ~/idx --model /tmp/s --top-k 2 --json 'Who signs?'"
        })
final class AskCommand implements Callable<Integer> {
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    Path index;

    @Mixin
    WeightsOptions weights;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "4",
            description = "Passages to retrieve for the prompt (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "hybrid",
            description = "Retrieval: hybrid, vector or bm25 (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256",
            description = "Longest answer, in tokens; kept free in the context (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 is greedy, the most likely answer (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Sampler seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stream", description = "Print the answer as it is generated.")
    boolean stream;

    @Option(names = "--json", description = "Print one JSON object: answer, sources, dropped, timings"
            + " (a streamed answer goes to stderr).")
    boolean json;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    @Parameters(paramLabel = "QUESTION", arity = "1", description = "The question.")
    String question;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        SearchMode searchMode = SearchCommand.parseMode(mode);
        GenerationConfig generation = new GenerationConfig(maxNewTokens, temperature, 0, 1, 1, seed, Set.of());
        Places places = new Places();
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(runtime.threads);
                DocumentIndex idx = DocumentIndex.open(index, minilm)) {
            // Retrieval first: an empty index fails before seconds go into loading the model.
            long start = System.nanoTime();
            List<Hit> hits = idx.search(question, searchMode, topK);
            double retrieveMillis = (System.nanoTime() - start) / 1e6;
            Path dir = weights.resolve(err);
            try (LocalModel model = LocalModel.load(dir, tokenizerOption.file, runtime.threads)) {
                err.println("woq: " + model.describe());
                err.flush();
                PrintWriter textOut = json ? err : out;
                Answer answer = new DocumentQa(idx, model).answer(question, hits, retrieveMillis, generation, piece -> {
                    if (stream) {
                        textOut.print(piece);
                        textOut.flush();
                    }
                });
                if (stream) {
                    textOut.println();
                } else if (!json) {
                    out.println(answer.text().strip());
                }
                if (!answer.dropped().isEmpty()) {
                    err.printf(Locale.ROOT, "woq: %d of %d passages did not fit in the context of %,d tokens"
                                    + " (with %d kept for the answer) and were left out: ranks %s%n",
                            answer.dropped().size(), hits.size(), model.model().config().maxPositionEmbeddings(),
                            maxNewTokens, answer.dropped().stream().map(h -> Integer.toString(h.rank())).toList());
                }
                Answer.Timings t = answer.timings();
                err.printf(Locale.ROOT, "woq: retrieved in %.0f ms; prompt %d tokens; first token after %.0f ms;"
                                + " %.2f tok/s%n", t.retrieveMillis(), t.promptTokens(), t.timeToFirstTokenMillis(),
                        t.tokensPerSecond());
                if (json) {
                    out.println(toJson(answer, places));
                } else {
                    out.println();
                    out.println("Sources:");
                    for (Source s : answer.sources()) {
                        out.println(sourceLine(s, places));
                    }
                }
                out.flush();
                err.flush();
            }
            return 0;
        }
    }

    /** A source as the answer's list shows it: {@code   [1] handbook.pdf, page 2 (score 0.0328)}. */
    static String sourceLine(Source s, Places places) {
        Hit h = s.hit();
        return String.format(Locale.ROOT, "  [%d] %s%s (score %.4f)", s.n(), places.show(h.file()),
                h.page() > 0 ? ", page " + h.page() : "", h.score());
    }

    private static String toJson(Answer answer, Places places) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("answer", answer.text().strip());
        List<Map<String, Object>> sources = new ArrayList<>();
        for (Source s : answer.sources()) {
            Map<String, Object> src = new LinkedHashMap<>();
            src.put("n", s.n());
            src.put("file", places.show(s.hit().file()));
            src.put("page", s.hit().pageOrNull());
            src.put("score", s.hit().score());
            src.put("text", s.hit().text());
            sources.add(src);
        }
        m.put("sources", sources);
        List<Map<String, Object>> dropped = new ArrayList<>();
        for (Hit h : answer.dropped()) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("rank", h.rank());
            d.put("file", places.show(h.file()));
            d.put("page", h.pageOrNull());
            dropped.add(d);
        }
        m.put("dropped", dropped);
        Answer.Timings t = answer.timings();
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("retrieve_ms", t.retrieveMillis());
        timings.put("prompt_tokens", t.promptTokens());
        timings.put("ttft_ms", t.timeToFirstTokenMillis());
        timings.put("tokens_per_s", Double.isNaN(t.tokensPerSecond()) ? null : t.tokensPerSecond());
        m.put("timings", timings);
        m.put("stop_reason", answer.stopReason().name().toLowerCase(Locale.ROOT));
        return new GsonBuilder().serializeNulls().create().toJson(m);
    }
}
