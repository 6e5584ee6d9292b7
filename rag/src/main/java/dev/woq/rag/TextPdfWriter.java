package dev.woq.rag;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

/**
 * Renders plain text as a PDF with PDFBox (Helvetica 10 pt, US Letter): one page per string,
 * paragraphs split at blank lines and wrapped at 95 characters. A {@code null} page gets a drawing
 * and no text, as a scanned page has. Tests and the retrieval benchmark make their PDFs with it.
 */
public final class TextPdfWriter {
    private TextPdfWriter() {}

    /** Writes {@code pages} to {@code file}; a page's text must fit on it (about 55 lines). */
    public static Path write(Path file, List<String> pages) throws IOException {
        java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
        try (PDDocument doc = new PDDocument()) {
            PDType1Font font = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
            for (String text : pages) {
                PDPage page = new PDPage(PDRectangle.LETTER);
                doc.addPage(page);
                if (text == null) {
                    // A page with a drawing but no text layer, as a scan has.
                    try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
                        cs.addRect(100, 100, 200, 300);
                        cs.fill();
                    }
                    continue;
                }
                try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
                    cs.beginText();
                    cs.setFont(font, 10);
                    cs.setLeading(13);
                    cs.newLineAtOffset(50, 740);
                    for (String paragraph : text.split("\n\n")) {
                        for (String line : wrap(paragraph, 95)) {
                            cs.showText(line);
                            cs.newLine();
                        }
                        cs.newLine();
                    }
                    cs.endText();
                }
            }
            doc.save(file.toFile());
        }
        return file;
    }

    static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split("\\s+")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() == 0 ? "" : " ").append(word);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        return lines;
    }
}
