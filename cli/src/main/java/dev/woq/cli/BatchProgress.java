package dev.woq.cli;

import dev.woq.spark.BatchCounters;
import java.io.PrintWriter;
import java.util.Locale;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaSparkStatusTracker;

/**
 * The progress line of {@code woq batch}, redrawn every second on stderr. With a local master the
 * executors run in this JVM, so it counts rows and tokens as they finish; with a cluster it shows
 * the tasks of the running stages.
 */
final class BatchProgress implements AutoCloseable {
    private final PrintWriter err;
    private final long totalRows;
    private final boolean local;
    private final JavaSparkStatusTracker tracker;
    private final long rows0 = BatchCounters.rows();
    private final long tokens0 = BatchCounters.tokens();
    private final long start = System.nanoTime();
    private final Thread thread;

    BatchProgress(PrintWriter err, long totalRows, boolean local, JavaSparkStatusTracker tracker) {
        this.err = err;
        this.totalRows = totalRows;
        this.local = local;
        this.tracker = tracker;
        this.thread = new Thread(this::run, "woq-batch-progress");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void run() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(1000);
                print("\r");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Rows generated (prompts, with map-reduce) since the start. */
    long rows() {
        return BatchCounters.rows() - rows0;
    }

    long tokens() {
        return BatchCounters.tokens() - tokens0;
    }

    double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    private synchronized void print(String prefix) {
        String line;
        if (local) {
            line = String.format(Locale.ROOT, "woq: rows %d/%d, %d tokens, %.1f tok/s, %.0f s", rows(), totalRows,
                    tokens(), tokens() / Math.max(seconds(), 1e-9), seconds());
        } else {
            int done = 0;
            int total = 0;
            for (int id : tracker.getActiveStageIds()) {
                SparkStageInfo stage = tracker.getStageInfo(id);
                if (stage != null) {
                    done += stage.numCompletedTasks();
                    total += stage.numTasks();
                }
            }
            line = String.format(Locale.ROOT, "woq: %d rows in; tasks %d/%d of the running stages, %.0f s", totalRows,
                    done, total, seconds());
        }
        err.print(prefix + line);
        err.flush();
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        print("\r");
        err.println();
        err.flush();
    }
}
