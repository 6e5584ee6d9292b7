package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A PDF made by a real toolchain (DocBook via a PDF renderer), not by PDFBox: freedesktop.org's MIME spec. */
class RealWorldPdfTest {
    @TempDir
    Path tmp;

    @Test
    void questionsOverTheSharedMimeInfoSpecLandOnTheirPages() throws URISyntaxException {
        Path pdf = Path.of(getClass().getResource("/real-world/shared-mime-info-spec.pdf").toURI());
        SourceDocument doc = new DocumentReader().read(pdf);
        assertEquals(17, doc.pages().size());
        assertTrue(doc.pagesWithoutText().isEmpty());
        try (DocumentIndex index = DocumentIndex.openForUpdate(tmp.resolve("idx"), MiniLm.get(), null)) {
            IndexReport report = index.add(List.of(pdf), IndexListener.NONE);
            assertEquals(17, report.pages());
            assertTrue(report.chunks() >= 17, "passages: " + report.chunks());
            assertEquals(14, index.search("Which extended attribute may hold a file's MIME type?", SearchMode.HYBRID, 4)
                    .get(0).page());
            assertEquals(9, index.search("What magic string does the magic file start with?", SearchMode.HYBRID, 4)
                    .get(0).page());
            List<Hit> mount = index.search("how to detect mounted directories", SearchMode.HYBRID, 4);
            assertEquals(16, mount.get(0).page(), mount.toString());
        }
    }
}
