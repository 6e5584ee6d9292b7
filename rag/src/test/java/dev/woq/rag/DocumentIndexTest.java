package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Indexing real PDFs: citations by page, incremental runs, prune, bad files, model checks, search modes. */
class DocumentIndexTest {
    @TempDir
    Path tmp;

    private final MiniLmEmbedder minilm = MiniLm.get();

    private DocumentIndex update(Path index) {
        return DocumentIndex.openForUpdate(index, minilm, null);
    }

    @Test
    void eachModeFindsThePageThatAnswersTheQuestion() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("docs/handbook.pdf"), Corpus.HANDBOOK);
        try (DocumentIndex index = update(tmp.resolve("idx"))) {
            IndexReport report = index.add(List.of(pdf.getParent()), IndexListener.NONE);
            assertEquals(1, report.count(FileOutcome.Status.ADDED));
            assertEquals(5, report.pages());
            for (SearchMode mode : SearchMode.values()) {
                assertEquals(2, index.search("How many days of paid vacation do I get?", mode, 4).get(0).page(), mode.name());
                assertEquals(5, index.search("Where is the fire assembly point?", mode, 4).get(0).page(), mode.name());
            }
            // Meaning without shared words with page 4: the vectors still rank it near the top.
            List<Hit> near = index.search("which computer is handed out to newcomers", SearchMode.VECTOR, 2);
            assertTrue(near.stream().anyMatch(h -> h.page() == 4), near.toString());
            Hit hit = near.get(0);
            assertEquals(pdf.toAbsolutePath(), hit.file());
            assertTrue(hit.score() > 0.2 && hit.score() <= 1.0, "cosine " + hit.score());
        }
    }

    @Test
    void hybridFusesByReciprocalRank() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("handbook.pdf"), Corpus.HANDBOOK);
        try (DocumentIndex index = update(tmp.resolve("idx"))) {
            index.add(List.of(pdf), IndexListener.NONE);
            List<Hit> hits = index.search("hotel refund per night", SearchMode.HYBRID, 3);
            assertEquals(3, hits.size());
            assertEquals(List.of(1, 2, 3), hits.stream().map(Hit::rank).toList());
            // First in both rankings: 2 / (60 + 1).
            assertEquals(3, hits.get(0).page());
            assertEquals(2.0 / 61, hits.get(0).score(), 1e-9);
        }
    }

    @Test
    void chunksKeepTheirPageAndCharacterOffsets() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("handbook.pdf"), Corpus.HANDBOOK);
        SourceDocument doc = new DocumentReader().read(pdf);
        try (DocumentIndex index = update(tmp.resolve("idx"))) {
            index.add(List.of(pdf), IndexListener.NONE);
            for (Hit hit : index.search("travel desk train tickets", SearchMode.BM25, 5)) {
                String page = doc.pages().get(hit.page() - 1).text();
                assertEquals(hit.text(), new Span(hit.start(), hit.end()).text(page));
            }
        }
    }

    @Test
    void aSecondRunSkipsUnchangedFilesReplacesChangedOnesAndPruneRemovesDeletedOnes() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("docs"));
        Path handbook = TextPdfWriter.write(dir.resolve("handbook.pdf"), Corpus.HANDBOOK);
        Path notes = Files.writeString(dir.resolve("notes.txt"), "The boiler is serviced every May by Hansen Heating.");
        Path extra = Files.writeString(dir.resolve("extra.md"), "# Parking\n\nVisitors park on level minus two.");
        Path idx = tmp.resolve("idx");
        try (DocumentIndex index = update(idx)) {
            assertEquals(3, index.add(List.of(dir), IndexListener.NONE).count(FileOutcome.Status.ADDED));
        }
        Files.writeString(notes, "The boiler is serviced every September by Olsen Heating.");
        Files.delete(extra);
        try (DocumentIndex index = update(idx)) {
            IndexReport second = index.add(List.of(dir), IndexListener.NONE);
            assertEquals(1, second.count(FileOutcome.Status.UNCHANGED));
            assertEquals(1, second.count(FileOutcome.Status.REPLACED));
            assertEquals(0, second.pages() - 1, "only the changed file was read");
            List<Hit> boiler = index.search("boiler service", SearchMode.BM25, 10);
            assertEquals(1, boiler.size(), "the old version's passage is gone");
            assertTrue(boiler.get(0).text().contains("September"));
            assertEquals(3, index.indexedHashes().size(), "without prune the deleted file stays");
            List<FileOutcome> pruned = index.prune();
            assertEquals(List.of(extra.toAbsolutePath()), pruned.stream().map(FileOutcome::file).toList());
            assertEquals(Map.of(handbook.toAbsolutePath(), DocumentReader.sha256(Files.readAllBytes(handbook)),
                    notes.toAbsolutePath(), DocumentReader.sha256(Files.readAllBytes(notes))), index.indexedHashes());
            assertTrue(index.search("visitors parking level", SearchMode.BM25, 4).stream()
                    .noneMatch(h -> h.text().contains("Visitors")));
        }
    }

    @Test
    void badFilesAreReportedAndSkippedAndTheRestIsIndexed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("docs"));
        TextPdfWriter.write(dir.resolve("good.pdf"), Corpus.HANDBOOK);
        TextPdfWriter.write(dir.resolve("scan.pdf"), Arrays.asList(null, null));
        TextPdfWriter.write(dir.resolve("partly.pdf"), Arrays.asList("The cellar key hangs by the door.", null, null, null));
        Files.writeString(dir.resolve("fake.pdf"), "PK zip bytes, not a pdf");
        Files.createFile(dir.resolve("empty.txt"));
        Path idx = tmp.resolve("idx");
        try (DocumentIndex index = update(idx)) {
            IndexReport report = index.add(List.of(dir, tmp.resolve("missing-dir")), IndexListener.NONE);
            assertTrue(report.skippedSomething());
            Map<String, String> notes = new java.util.TreeMap<>();
            for (FileOutcome f : report.files()) {
                notes.put(f.file().getFileName() + ":" + f.status(), f.note());
            }
            assertEquals("no such file or directory", notes.get("missing-dir:SKIPPED"));
            assertEquals("the file is empty", notes.get("empty.txt:SKIPPED"));
            assertTrue(notes.get("fake.pdf:SKIPPED").startsWith("not a PDF"));
            assertTrue(notes.get("scan.pdf:SKIPPED").startsWith("no text on pages 1-2; OCR is not supported"));
            assertEquals("no text on pages 2-4; OCR is not supported", notes.get("partly.pdf:ADDED"));
            assertTrue(notes.containsKey("good.pdf:ADDED"), notes.toString());
            assertEquals(2, index.indexedHashes().size());
            assertEquals(1, index.search("cellar key", SearchMode.BM25, 1).get(0).page());
        }
    }

    @Test
    void anIndexBuiltWithMiniLmRefusesAnotherEmbeddingModel() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("handbook.pdf"), Corpus.HANDBOOK);
        Path idx = tmp.resolve("idx");
        try (DocumentIndex index = update(idx)) {
            index.add(List.of(pdf), IndexListener.NONE);
        }
        IndexMismatchException e = assertThrows(IndexMismatchException.class,
                () -> DocumentIndex.open(idx, new HashingEmbedder()));
        assertTrue(e.getMessage().contains("'sentence-transformers/all-MiniLM-L6-v2'")
                && e.getMessage().contains("'test/hashing-64'") && e.getMessage().contains("new --index"), e.getMessage());
        assertThrows(IndexMismatchException.class, () -> DocumentIndex.openForUpdate(idx, new HashingEmbedder(), null));
        IndexMismatchException chunks = assertThrows(IndexMismatchException.class,
                () -> DocumentIndex.openForUpdate(idx, minilm, ChunkSettings.tokens(128, 16)));
        assertTrue(chunks.getMessage().contains("256 tokens, 32 overlap"), chunks.getMessage());
        try (DocumentIndex same = DocumentIndex.open(idx, minilm)) {
            assertEquals(ChunkSettings.DEFAULT, same.settings());
        }
    }

    @Test
    void searchingWhereThereIsNoIndexOrNoPassageSaysHowToBuildOne() throws IOException {
        EmptyIndexException none = assertThrows(EmptyIndexException.class, () -> DocumentIndex.open(tmp.resolve("nothing"), minilm));
        assertTrue(none.getMessage().contains("woq index --index"), none.getMessage());
        Path doc = Files.writeString(tmp.resolve("a.txt"), "Only passage.");
        Path idx = tmp.resolve("idx");
        try (DocumentIndex index = update(idx)) {
            index.add(List.of(doc), IndexListener.NONE);
            Files.delete(doc);
            index.prune();
        }
        try (DocumentIndex index = DocumentIndex.open(idx, minilm)) {
            EmptyIndexException empty = assertThrows(EmptyIndexException.class,
                    () -> index.search("anything", SearchMode.HYBRID, 4));
            assertTrue(empty.getMessage().contains("holds no passages"), empty.getMessage());
        }
    }
}
