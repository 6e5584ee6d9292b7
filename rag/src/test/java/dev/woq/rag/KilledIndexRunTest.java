package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 'woq index' killed with SIGKILL mid-file leaves an index with every file committed before. */
class KilledIndexRunTest {
    @TempDir
    Path tmp;

    @Test
    void anIndexKilledWhileEmbeddingTheSecondFileOpensWithTheFirstAndTheNextRunAddsTheRest() throws Exception {
        Path first = TextPdfWriter.write(tmp.resolve("a-handbook.pdf"), Corpus.HANDBOOK);
        Path second = Files.writeString(tmp.resolve("b-notes.txt"), "The boiler is serviced every May.");
        Path third = Files.writeString(tmp.resolve("c-parking.md"), "Visitors park on level minus two.");
        Path idx = tmp.resolve("idx");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                KillableIndexRun.class.getName(), idx.toString(), first.toString(), second.toString(), third.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                lines.add(line);
                if (line.equals("embedding second file")) {
                    break;
                }
            }
            assertTrue(lines.contains("committed a-handbook.pdf") && lines.contains("embedding second file"),
                    String.join("\n", lines));
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no close
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }

        MiniLmEmbedder minilm = MiniLm.get();
        try (DocumentIndex index = DocumentIndex.open(idx, minilm)) {
            assertEquals(List.of(first.toAbsolutePath()), List.copyOf(index.indexedHashes().keySet()));
            assertEquals(5, index.search("fire assembly point", SearchMode.HYBRID, 1).get(0).page());
        }
        try (DocumentIndex index = DocumentIndex.openForUpdate(idx, minilm, null)) {
            IndexReport rerun = index.add(List.of(first, second, third), IndexListener.NONE);
            assertEquals(1, rerun.count(FileOutcome.Status.UNCHANGED));
            assertEquals(2, rerun.count(FileOutcome.Status.ADDED));
        }
    }
}
