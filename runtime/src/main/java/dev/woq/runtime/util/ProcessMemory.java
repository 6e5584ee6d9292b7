package dev.woq.runtime.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident memory as Linux reports it (Java heap, native tensors and mapped files). */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {}

    /** Peak resident set size in bytes ({@code VmHWM}), or -1 where /proc is not available. */
    public static long peakRssBytes() {
        return field("VmHWM:");
    }

    /**
     * Resets the peak ({@code VmHWM}) to the current resident size, so the next
     * {@link #peakRssBytes()} covers only what runs after this call: one process can report the
     * peak of several phases. Writes {@code 5} to {@code /proc/self/clear_refs} (Linux 4.0+).
     *
     * @return false where the kernel does not allow it; the peak then stays the process's
     */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Gives the native heap's free memory back to the operating system (glibc's
     * {@code malloc_trim(0)}). libtorch allocates KV caches and activations with malloc; when a
     * burst of sequences ends, glibc keeps their freed pages for reuse, and the process stays at
     * its high-water mark. A server calls this when it goes idle.
     *
     * @return false where the C library has no {@code malloc_trim} (not glibc)
     */
    public static boolean trimNativeHeap() {
        try {
            com.sun.jna.Function trim = com.sun.jna.NativeLibrary.getInstance("c").getFunction("malloc_trim");
            trim.invokeInt(new Object[] {0});
            return true;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return false;
        }
    }

    /**
     * Resident anonymous memory in bytes ({@code RssAnon}): the heap, native allocations and
     * tensors, without the pages of mapped files (weights), which the kernel can drop and re-read.
     * Or -1.
     */
    public static long anonymousRssBytes() {
        return field("RssAnon:");
    }

    /** Current resident set size in bytes ({@code VmRSS}), or -1. */
    public static long rssBytes() {
        return field("VmRSS:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024L; // reported in kB
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
