package dev.woq.cli;

import dev.woq.rag.FileOutcome;
import dev.woq.rag.IndexListener;
import java.io.Console;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * {@code woq index}'s progress line (files, pages/s, chunks/s), redrawn on a terminal at most every
 * 200 ms; each file that was skipped or lost pages is reported on its own line either way.
 */
final class IndexProgress implements IndexListener {
    private final PrintWriter err;
    private final boolean drawing;
    private final Places places;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int files;
    private long pages;
    private long chunks;

    IndexProgress(PrintWriter err, boolean drawing, Places places) {
        this.err = err;
        this.drawing = drawing;
        this.places = places;
    }

    static IndexProgress onTerminal(PrintWriter err, Places places) {
        Console console = System.console();
        return new IndexProgress(err, console != null, places);
    }

    @Override
    public void pagesRead(int n) {
        pages += n;
        draw(false);
    }

    @Override
    public void chunksEmbedded(int n) {
        chunks += n;
        draw(false);
    }

    @Override
    public void fileDone(FileOutcome outcome) {
        files++;
        if (outcome.lostSomething()) {
            clearLine();
            err.println("woq: " + (outcome.status() == FileOutcome.Status.SKIPPED ? "skipped " : "warning: ")
                    + places.show(outcome.file()) + ": " + outcome.note());
            err.flush();
        }
        draw(false);
    }

    void finish() {
        draw(true);
        if (drawing) {
            err.println();
            err.flush();
        }
    }

    private void clearLine() {
        if (drawing) {
            err.print("\r\033[K");
        }
    }

    private void draw(boolean force) {
        if (!drawing) {
            return;
        }
        long now = System.nanoTime();
        if (!force && now - lastDraw < 200_000_000L) {
            return;
        }
        lastDraw = now;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        err.printf(Locale.ROOT, "\rindexing: %d files, %d pages (%.1f pages/s), %d chunks (%.1f chunks/s)   ",
                files, pages, pages / seconds, chunks, chunks / seconds);
        err.flush();
    }
}
