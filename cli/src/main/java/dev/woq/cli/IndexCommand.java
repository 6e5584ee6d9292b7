package dev.woq.cli;

import dev.woq.rag.ChunkSettings;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.FileOutcome;
import dev.woq.rag.IndexReport;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.util.ProcessMemory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code woq index}: PDFs, .txt and .md files into a searchable index, incrementally. */
@Command(
        name = "index",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Index PDFs, .txt and .md files for search and ask.",
        footerHeading = "%nExit codes: 0 all indexed; 3 done, but some files or pages were skipped;"
                + " 1 error.%n%nExamples:%n",
        footer = {
            "  woq index --index ~/idx report.pdf manuals/   # directories recursively",
            "  woq index --index ~/idx --prune manuals/      # again: only changes",
            "  woq index --index ~/idx --chunk-tokens 128 --overlap 16 notes.md"
        })
final class IndexCommand implements Callable<Integer> {
    /** Exit code when the run finished but some file or page could not be indexed. */
    static final int EXIT_SKIPPED = 3;

    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory (created if new).")
    Path index;

    @Option(names = "--chunk-tokens", paramLabel = "N",
            description = "Most MiniLM word pieces per passage, [CLS] and [SEP] included; at most 256, all MiniLM"
                    + " sees (default: 256, or what the index was built with).")
    Integer chunkTokens;

    @Option(names = "--overlap", paramLabel = "N",
            description = "Tokens of whole sentences a passage repeats from the previous one"
                    + " (default: 32, or what the index was built with).")
    Integer overlap;

    @Option(names = "--prune", description = "Also remove files that no longer exist from the index (default: off).")
    boolean prune;

    @Mixin
    RuntimeOptions runtime;

    @Parameters(paramLabel = "PATH", arity = "0..*", description = "Files and directories to index.")
    List<Path> paths = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (paths.isEmpty() && !prune) {
            throw new WoqException("Give the files or directories to index (or --prune alone to drop deleted files)");
        }
        ChunkSettings settings = null;
        if (chunkTokens != null || overlap != null) {
            settings = ChunkSettings.tokens(chunkTokens != null ? chunkTokens : ChunkSettings.DEFAULT.size(),
                    overlap != null ? overlap : ChunkSettings.DEFAULT.overlap());
        }
        Places places = new Places();
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(runtime.threads);
                DocumentIndex idx = DocumentIndex.openForUpdate(index, minilm, settings)) {
            IndexProgress progress = IndexProgress.onTerminal(err, places);
            IndexReport report = idx.add(paths, progress);
            progress.finish();
            List<FileOutcome> pruned = prune ? idx.prune() : List.of();
            for (FileOutcome p : pruned) {
                out.println("pruned " + places.show(p.file()));
            }
            out.printf(Locale.ROOT, "indexed %d new and %d changed files (%d pages, %d passages) in %.1f s;"
                            + " %d unchanged, %d skipped, %d pruned; index %s: %d passages, %s%n",
                    report.count(FileOutcome.Status.ADDED), report.count(FileOutcome.Status.REPLACED),
                    report.pages(), report.chunks(), report.seconds(), report.count(FileOutcome.Status.UNCHANGED),
                    report.count(FileOutcome.Status.SKIPPED), pruned.size(), index, idx.passageCount(),
                    idx.settings().describe());
            err.printf(Locale.ROOT, "woq: %.1f pages/s, %.1f passages/s; peak RSS %.0f MiB%n",
                    report.pages() / Math.max(1e-9, report.seconds()), report.chunks() / Math.max(1e-9, report.seconds()),
                    ProcessMemory.peakRssBytes() / 1048576.0);
            out.flush();
            err.flush();
            return report.skippedSomething() ? EXIT_SKIPPED : 0;
        }
    }
}
