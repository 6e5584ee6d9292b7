package dev.woq.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress report (done, total, rate, ETA) redrawn on a terminal at most every 200 ms;
 * silent when stderr is not a terminal, so scripts and logs stay clean.
 */
final class Progress {
    private final String label;
    private final PrintWriter err;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private long lastDraw;

    private Progress(String label, PrintWriter err, boolean enabled) {
        this.label = label;
        this.err = err;
        this.enabled = enabled;
    }

    /** Draws on {@code err} (the command line's stderr) when the process has a terminal. */
    static Progress onTerminal(String label, PrintWriter err) {
        Console console = System.console();
        return new Progress(label, err, console != null);
    }

    void update(long done, long total) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastDraw < 200_000_000L && done < total) {
            return;
        }
        lastDraw = now;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / seconds;
        double eta = rate > 0 ? (total - done) / rate : 0;
        err.printf(Locale.ROOT, "\r%s: %.2f / %.2f GB, %.0f MB/s, ETA %.0f s   ",
                label, done / 1e9, total / 1e9, rate / 1e6, eta);
        err.flush();
    }

    void finish() {
        if (enabled) {
            err.println();
            err.flush();
        }
    }
}
