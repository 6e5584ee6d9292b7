package dev.woq.rag;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.nio.ByteBuffer;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.text.PDFTextStripper;

/**
 * Reads a PDF (text per page, with PDFBox), a {@code .txt} or a {@code .md} file. What cannot be
 * read (corrupt, encrypted, not a PDF, no text at all, empty, unreadable) is an
 * {@link UnreadableDocumentException} saying why, so the caller can skip the file and go on.
 */
public final class DocumentReader {
    /** File name endings this reader handles, lower case. */
    public static final List<String> EXTENSIONS = List.of(".pdf", ".txt", ".md");

    /** Whether {@code file}'s name ends with one of {@link #EXTENSIONS}. */
    public static boolean handles(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /**
     * Reads {@code file}.
     *
     * @throws UnreadableDocumentException when it cannot be indexed, with the reason
     */
    public SourceDocument read(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(abs);
        } catch (NoSuchFileException e) {
            throw new UnreadableDocumentException(abs, "no such file");
        } catch (AccessDeniedException e) {
            throw new UnreadableDocumentException(abs, "permission denied");
        } catch (IOException e) {
            throw new UnreadableDocumentException(abs, "cannot be read: " + e.getMessage());
        }
        if (bytes.length == 0) {
            throw new UnreadableDocumentException(abs, "the file is empty");
        }
        String hash = sha256(bytes);
        if (abs.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".pdf")) {
            return readPdf(abs, bytes, hash);
        }
        return readText(abs, bytes, hash);
    }

    private static SourceDocument readText(Path file, byte[] bytes, String hash) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new UnreadableDocumentException(file, "not UTF-8 text (is it a binary file?)");
        }
        if (text.isBlank()) {
            throw new UnreadableDocumentException(file, "the file holds only white space");
        }
        return new SourceDocument(file, hash, List.of(new Page(0, text)), List.of());
    }

    private static SourceDocument readPdf(Path file, byte[] bytes, String hash) {
        if (!startsWithPdfHeader(bytes)) {
            throw new UnreadableDocumentException(file, "not a PDF (no %PDF- header in its first 1024 bytes)");
        }
        try (PDDocument pdf = Loader.loadPDF(bytes)) {
            if (pdf.isEncrypted() && !pdf.getCurrentAccessPermission().canExtractContent()) {
                throw new UnreadableDocumentException(file, "encrypted, and its permissions forbid extracting text");
            }
            int count = pdf.getNumberOfPages();
            if (count == 0) {
                throw new UnreadableDocumentException(file, "the PDF has no pages");
            }
            PDFTextStripper stripper = new PDFTextStripper();
            stripper.setSortByPosition(true);
            List<Page> pages = new ArrayList<>();
            List<Integer> empty = new ArrayList<>();
            for (int p = 1; p <= count; p++) {
                stripper.setStartPage(p);
                stripper.setEndPage(p);
                String text = stripper.getText(pdf);
                if (text.isBlank()) {
                    empty.add(p);
                } else {
                    pages.add(new Page(p, text));
                }
            }
            if (pages.isEmpty()) {
                throw new UnreadableDocumentException(file, "no text on pages " + PageRanges.format(empty)
                        + "; OCR is not supported (is it a scan?)");
            }
            return new SourceDocument(file, hash, pages, empty);
        } catch (InvalidPasswordException e) {
            throw new UnreadableDocumentException(file, "encrypted with a password; woq cannot open it");
        } catch (IOException e) {
            throw new UnreadableDocumentException(file, "corrupt PDF: " + e.getMessage());
        } catch (UnreadableDocumentException e) {
            throw e;
        } catch (RuntimeException e) {
            // PDFBox is lenient, but some damage still surfaces as an unchecked exception.
            throw new UnreadableDocumentException(file, "corrupt PDF: " + e);
        }
    }

    private static boolean startsWithPdfHeader(byte[] bytes) {
        String head = new String(bytes, 0, Math.min(1024, bytes.length), StandardCharsets.ISO_8859_1);
        return head.contains("%PDF-");
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
