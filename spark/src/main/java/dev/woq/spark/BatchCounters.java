package dev.woq.spark;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Rows finished and tokens generated in this JVM since it started. With a local master the
 * executors are this JVM, so a driver can show live progress from them.
 */
public final class BatchCounters {
    private static final AtomicLong rows = new AtomicLong();
    private static final AtomicLong tokens = new AtomicLong();

    private BatchCounters() {}

    static void add(int generatedTokens) {
        rows.incrementAndGet();
        tokens.addAndGet(generatedTokens);
    }

    /** Rows finished (generated or refused with an error) in this JVM. */
    public static long rows() {
        return rows.get();
    }

    /** Tokens generated in this JVM. */
    public static long tokens() {
        return tokens.get();
    }
}
