package dev.woq.runtime.util;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ProcessMemoryTest {
    @Test
    void resettingThePeakForgetsMemoryThatWasFreedBefore() {
        // Other tests in this JVM may have set a high peak: start from the current size.
        assumeTrue(ProcessMemory.resetPeak(), "this kernel does not allow resetting the peak (/proc/self/clear_refs)");
        long before = ProcessMemory.peakRssBytes();
        // Touch 256 MiB outside the heap: the peak remembers it...
        ByteBuffer big = ByteBuffer.allocateDirect(256 << 20);
        for (int i = 0; i < big.capacity(); i += 4096) {
            big.put(i, (byte) 1);
        }
        long withBig = ProcessMemory.peakRssBytes();
        assertTrue(withBig >= before + (200L << 20), "peak " + withBig + " after touching 256 MiB, was " + before);
        big = null;
        for (int i = 0; i < 10 && ProcessMemory.rssBytes() > withBig - (200L << 20); i++) {
            System.gc(); // frees the direct buffer's memory through its cleaner
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // ...until it is reset.
        assertTrue(ProcessMemory.resetPeak());
        long after = ProcessMemory.peakRssBytes();
        assertTrue(after < withBig - (150L << 20), "peak after reset " + after + ", with the buffer " + withBig);
    }
}
