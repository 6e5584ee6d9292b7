package dev.woq.bench;

import com.google.gson.GsonBuilder;
import dev.woq.rag.ChunkSettings;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.Hit;
import dev.woq.rag.IndexListener;
import dev.woq.rag.IndexReport;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.SearchMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Retrieval quality and speed of woq's document index on the King James Genesis and Exodus,
 * rendered to a PDF of about 180 pages ({@link ScripturePages}), with the questions of
 * {@code benchmarks/data/kjv-questions.tsv} (verse, answer page, question): recall@1, @2, @4 and
 * MRR@10 for bm25, vector and hybrid, under woq's chunking (256 MiniLM tokens, 32 overlap) and the
 * common 500-character / 50-overlap recipe; then search latency p50/p95.
 *
 * <pre>
 * java -cp "benchmarks/target/woq-benchmarks.jar:benchmarks/target/lib/*" dev.woq.bench.RetrievalBenchmark \
 *     pdf benchmarks/data /tmp/kjv                 # renders /tmp/kjv/kjv-genesis-exodus.pdf
 * ./woq index --index /tmp/kjv/index-tokens /tmp/kjv/kjv-genesis-exodus.pdf   # timed: pages/s, peak RSS
 * java ... dev.woq.bench.RetrievalBenchmark eval benchmarks/data /tmp/kjv
 * </pre>
 */
public final class RetrievalBenchmark {
    private static final String TEXT = "kjv-genesis-exodus.txt";
    private static final String QUESTIONS = "kjv-questions.tsv";
    private static final String PDF = "kjv-genesis-exodus.pdf";
    private static final int DEPTH = 10;
    private static final int LATENCY_ROUNDS = 5;

    private RetrievalBenchmark() {}

    /** One question: the verse that answers it and that verse's page. */
    record Question(String verse, int page, String text) {}

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: RetrievalBenchmark pdf|questions|eval DATA_DIR WORK_DIR");
            System.exit(2);
        }
        Path data = Path.of(args[1]);
        Path work = Files.createDirectories(Path.of(args[2]));
        ScripturePages pages = ScripturePages.layOut(data.resolve(TEXT));
        switch (args[0]) {
            case "pdf" -> {
                pages.writePdf(work.resolve(PDF));
                System.out.printf(Locale.ROOT, "%s: %d pages, %d characters%n", work.resolve(PDF),
                        pages.pageCount(), pages.characters());
            }
            case "questions" -> {
                // Adds the answer page to each line of kjv-questions.tsv.in: how the .tsv was made.
                for (String line : Files.readAllLines(data.resolve(QUESTIONS + ".in"), StandardCharsets.UTF_8)) {
                    String[] f = line.split("\t");
                    System.out.println(f[0] + "\t" + pages.pageOf(f[0]) + "\t" + f[1]);
                }
            }
            case "eval" -> eval(pages, questions(data.resolve(QUESTIONS), pages), work);
            default -> throw new IllegalArgumentException("unknown step " + args[0]);
        }
    }

    static List<Question> questions(Path file, ScripturePages pages) throws IOException {
        List<Question> qs = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t");
            Question q = new Question(f[0], Integer.parseInt(f[1]), f[2]);
            if (pages.pageOf(q.verse()) != q.page()) {
                throw new IllegalStateException(q.verse() + " is on page " + pages.pageOf(q.verse())
                        + ", not " + q.page() + " as " + file + " says: the layout changed");
            }
            qs.add(q);
        }
        return qs;
    }

    private static void eval(ScripturePages pages, List<Question> questions, Path work) throws IOException {
        Path pdf = work.resolve(PDF);
        if (!Files.exists(pdf)) {
            pages.writePdf(pdf);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pages", pages.pageCount());
        out.put("characters", pages.characters());
        out.put("questions", questions.size());
        List<Map<String, Object>> rows = new ArrayList<>();
        System.out.println("| chunking | passages | mode | recall@1 | recall@2 | recall@4 | MRR@10 | search p50 / p95 ms | CPU p50 / p95 ms |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(Runtime.getRuntime().availableProcessors())) {
            for (ChunkSettings settings : List.of(ChunkSettings.DEFAULT, ChunkSettings.chars(500, 50))) {
                Path dir = work.resolve("index-" + settings.unit().name().toLowerCase(Locale.ROOT));
                try (DocumentIndex index = DocumentIndex.openForUpdate(dir, minilm, settings)) {
                    IndexReport report = index.add(List.of(pdf), IndexListener.NONE);
                    if (report.chunks() > 0) {
                        System.err.printf(Locale.ROOT, "indexed %s (%s): %d pages, %d passages in %.1f s%n",
                                pdf.getFileName(), settings.describe(), report.pages(), report.chunks(), report.seconds());
                    }
                    for (SearchMode mode : SearchMode.values()) {
                        Map<String, Object> row = evaluate(index, questions, mode);
                        row.put("chunking", settings.describe());
                        row.put("passages", index.passageCount());
                        rows.add(row);
                        System.out.printf(Locale.ROOT, "| %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.1f / %.1f | %.1f / %.1f |%n",
                                settings.describe(), index.passageCount(), mode.name().toLowerCase(Locale.ROOT),
                                row.get("recall_at_1"), row.get("recall_at_2"), row.get("recall_at_4"), row.get("mrr_at_10"),
                                row.get("search_p50_ms"), row.get("search_p95_ms"), row.get("search_cpu_p50_ms"),
                                row.get("search_cpu_p95_ms"));
                    }
                }
            }
        }
        out.put("rows", rows);
        Files.writeString(work.resolve("retrieval.json"), new GsonBuilder().setPrettyPrinting().create().toJson(out));
    }

    private static Map<String, Object> evaluate(DocumentIndex index, List<Question> questions, SearchMode mode) {
        int[] firstRank = new int[questions.size()];
        for (int i = 0; i < questions.size(); i++) {
            List<Hit> hits = index.search(questions.get(i).text(), mode, DEPTH);
            firstRank[i] = 0;
            for (Hit h : hits) {
                if (h.page() == questions.get(i).page()) {
                    firstRank[i] = h.rank();
                    break;
                }
            }
        }
        // Latency: every question LATENCY_ROUNDS times, after the round above warmed up.
        // The process's CPU time per search too: on a shared machine wall time counts the wait for a
        // core, CPU time only the work (MiniLM's ONNX threads included).
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        List<Double> millis = new ArrayList<>();
        List<Double> cpuMillis = new ArrayList<>();
        for (int round = 0; round < LATENCY_ROUNDS; round++) {
            for (Question q : questions) {
                long cpu = os.getProcessCpuTime();
                long start = System.nanoTime();
                index.search(q.text(), mode, 4);
                millis.add((System.nanoTime() - start) / 1e6);
                cpuMillis.add((os.getProcessCpuTime() - cpu) / 1e6);
            }
        }
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] cpuSorted = cpuMillis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("mode", mode.name().toLowerCase(Locale.ROOT));
        row.put("recall_at_1", recall(firstRank, 1));
        row.put("recall_at_2", recall(firstRank, 2));
        row.put("recall_at_4", recall(firstRank, 4));
        row.put("mrr_at_10", Arrays.stream(firstRank).mapToDouble(r -> r == 0 ? 0 : 1.0 / r).average().orElse(0));
        row.put("search_p50_ms", percentile(sorted, 0.50));
        row.put("search_p95_ms", percentile(sorted, 0.95));
        row.put("search_cpu_p50_ms", percentile(cpuSorted, 0.50));
        row.put("search_cpu_p95_ms", percentile(cpuSorted, 0.95));
        List<String> missed = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            if (firstRank[i] == 0 || firstRank[i] > 4) {
                missed.add(questions.get(i).verse());
            }
        }
        row.put("missed_at_4", missed);
        return row;
    }

    private static double recall(int[] firstRank, int k) {
        return Arrays.stream(firstRank).filter(r -> r > 0 && r <= k).count() / (double) firstRank.length;
    }

    private static double percentile(double[] sorted, double p) {
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
