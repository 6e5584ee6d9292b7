package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.encryption.AccessPermission;
import org.apache.pdfbox.pdmodel.encryption.StandardProtectionPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PDFs written by PDFBox, text files, and every kind of bad input. */
class DocumentReaderTest {
    @TempDir
    Path tmp;

    private final DocumentReader reader = new DocumentReader();

    @Test
    void pdfTextComesBackPerPageWithPageNumbers() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("handbook.pdf"), Corpus.HANDBOOK);
        SourceDocument doc = reader.read(pdf);
        assertEquals(5, doc.pages().size());
        assertTrue(doc.pages().get(1).text().contains("twenty-seven days of paid vacation"));
        assertEquals(2, doc.pages().get(1).number());
        assertTrue(doc.pages().get(4).text().contains("bakery on Mill Street"));
        assertEquals(64, doc.sha256().length());
    }

    @Test
    void pagesWithoutTextAreNamedAndTheRestIsRead() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("mixed.pdf"),
                Arrays.asList("Page one has text.", "Page two too.", null, null, null, null, null, "Page eight."));
        SourceDocument doc = reader.read(pdf);
        assertEquals(List.of(1, 2, 8), doc.pages().stream().map(Page::number).toList());
        assertEquals(List.of(3, 4, 5, 6, 7), doc.pagesWithoutText());
        assertEquals("3-7", PageRanges.format(doc.pagesWithoutText()));
    }

    @Test
    void aScanWithoutAnyTextLayerIsRefusedSayingOcrIsNotSupported() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("scan.pdf"), Arrays.asList(null, null, null));
        UnreadableDocumentException e = assertThrows(UnreadableDocumentException.class, () -> reader.read(pdf));
        assertEquals("no text on pages 1-3; OCR is not supported (is it a scan?)", e.reason());
    }

    @Test
    void aPasswordProtectedPdfIsRefusedAsEncrypted() throws IOException {
        Path pdf = TextPdfWriter.write(tmp.resolve("plain.pdf"), List.of("Secret numbers."));
        Path locked = tmp.resolve("locked.pdf");
        try (PDDocument doc = org.apache.pdfbox.Loader.loadPDF(pdf.toFile())) {
            StandardProtectionPolicy policy = new StandardProtectionPolicy("owner", "user", new AccessPermission());
            policy.setEncryptionKeyLength(128);
            doc.protect(policy);
            doc.save(locked.toFile());
        }
        UnreadableDocumentException e = assertThrows(UnreadableDocumentException.class, () -> reader.read(locked));
        assertTrue(e.reason().contains("encrypted with a password"), e.reason());
    }

    @Test
    void aFileNamedPdfThatIsNotAPdfIsRefused() throws IOException {
        Path fake = Files.writeString(tmp.resolve("fake.pdf"), "<html>not a pdf</html>");
        UnreadableDocumentException e = assertThrows(UnreadableDocumentException.class, () -> reader.read(fake));
        assertTrue(e.reason().startsWith("not a PDF"), e.reason());
    }

    @Test
    void aCorruptPdfIsRefusedAsCorrupt() throws IOException {
        byte[] junk = new byte[4000];
        new java.util.Random(1).nextBytes(junk);
        byte[] header = "%PDF-1.7\n".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(header, 0, junk, 0, header.length);
        Path corrupt = Files.write(tmp.resolve("corrupt.pdf"), junk);
        UnreadableDocumentException e = assertThrows(UnreadableDocumentException.class, () -> reader.read(corrupt));
        assertTrue(e.reason().startsWith("corrupt PDF") || e.reason().contains("no pages"), e.reason());
    }

    @Test
    void emptyAndMissingFilesAreRefusedWithTheirReason() throws IOException {
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        assertEquals("the file is empty",
                assertThrows(UnreadableDocumentException.class, () -> reader.read(empty)).reason());
        assertEquals("no such file",
                assertThrows(UnreadableDocumentException.class, () -> reader.read(tmp.resolve("gone.md"))).reason());
    }

    @Test
    void textAndMarkdownAreOnePageNumberedZero() throws IOException {
        Path md = Files.writeString(tmp.resolve("notes.md"), "# Notes\n\nThe boiler is serviced in May.\n");
        SourceDocument doc = reader.read(md);
        assertEquals(1, doc.pages().size());
        assertEquals(0, doc.pages().get(0).number());
        assertTrue(doc.pages().get(0).text().contains("boiler"));
    }
}
