package dev.woq.examples;

import dev.woq.rag.Answer;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.DocumentQa;
import dev.woq.rag.FileOutcome;
import dev.woq.rag.Hit;
import dev.woq.rag.IndexListener;
import dev.woq.rag.IndexReport;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.SearchMode;
import dev.woq.rag.Source;
import dev.woq.runtime.LocalModel;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.generate.GenerationConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Questions over your documents from Java, without the CLI: open (or create) an index, add files
 * (only changed ones are read again), search it, and ask with the answer streamed to a callback.
 *
 * <pre>
 * ./woq synth --preset small --out /tmp/s
 * java -cp "examples/target/woq-examples.jar:examples/target/lib/*" dev.woq.examples.DocumentQuestions \
 *     /tmp/idx /tmp/s "What is the fire assembly point?" docs/
 * </pre>
 */
public final class DocumentQuestions {
    private DocumentQuestions() {}

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: DocumentQuestions INDEX_DIR MODEL_DIR QUESTION PATH...");
            System.exit(2);
        }
        List<Path> paths = java.util.Arrays.stream(args, 3, args.length).map(Path::of).toList();
        try {
            run(Path.of(args[0]), Path.of(args[1]), args[2], paths, System.out);
        } catch (WoqException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Indexes {@code paths} into {@code indexDir}, prints the top passages, then streams an answer. */
    public static Answer run(Path indexDir, Path modelDir, String question, List<Path> paths, PrintStream out) {
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(Runtime.getRuntime().availableProcessors())) {
            // 1. Add files: each is committed on its own; unchanged ones are skipped by content hash.
            try (DocumentIndex index = DocumentIndex.openForUpdate(indexDir, minilm, null)) {
                IndexReport report = index.add(paths, IndexListener.NONE);
                for (FileOutcome f : report.files()) {
                    out.println(f.status() + " " + f.file().getFileName() + (f.note() != null ? ": " + f.note() : ""));
                }
            }
            // 2. Search, and 3. ask: the same index opened to read, the model loaded once.
            try (DocumentIndex index = DocumentIndex.open(indexDir, minilm);
                    LocalModel model = LocalModel.load(modelDir, null, Runtime.getRuntime().availableProcessors())) {
                for (Hit h : index.search(question, SearchMode.HYBRID, 2)) {
                    out.printf("search %d: %s page %d%n", h.rank(), h.file().getFileName(), h.page());
                }
                Answer answer = new DocumentQa(index, model).ask(question, 4, SearchMode.HYBRID,
                        GenerationConfig.greedy(48, Set.of()), out::print);
                out.println();
                for (Source s : answer.sources()) {
                    out.printf("[%d] %s, page %d%n", s.n(), s.hit().file().getFileName(), s.hit().page());
                }
                return answer;
            }
        }
    }
}
