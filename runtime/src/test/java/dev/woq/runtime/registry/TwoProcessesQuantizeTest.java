package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.model.TestCheckpoints;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes ({@link RegistryChild} JVMs) quantizing the same model into the same registry at
 * once: the second waits on the entry's lock file, says so, and then reuses what the first built;
 * one quantization, one entry, no temporary directory left.
 */
class TwoProcessesQuantizeTest {
    @TempDir
    Path home;

    @Test
    void theSecondProcessWaitsThenReusesTheFirstsEntry() throws Exception {
        Path source = TestCheckpoints.tiny();
        Process first = start(source);
        Process second = null;
        try (BufferedReader firstOut = reader(first)) {
            List<String> firstLines = new ArrayList<>();
            String line;
            while ((line = firstOut.readLine()) != null && !line.startsWith("progress ")) {
                firstLines.add(line);
            }
            if (line == null) {
                fail("the first process ended before quantizing: " + firstLines);
            }
            firstLines.add(line);
            second = start(source); // the first holds the lock: it is quantizing
            List<String> secondLines = readAll(second);
            firstLines.addAll(readAllFrom(firstOut));
            assertTrue(first.waitFor(60, TimeUnit.SECONDS) && second.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, first.exitValue(), firstLines::toString);
            assertEquals(0, second.exitValue(), secondLines::toString);

            assertTrue(secondLines.stream().anyMatch(l -> l.startsWith("log waiting for another woq quantize of"
                    + " tiny/int4-g128")), secondLines::toString);
            assertEquals(0, secondLines.stream().filter(l -> l.startsWith("progress ")).count(),
                    () -> "the second process quantized too: " + secondLines);
            String firstEntry = firstLines.stream().filter(l -> l.startsWith("entry ")).findFirst().orElseThrow();
            assertEquals(List.of(firstEntry), secondLines.stream().filter(l -> l.startsWith("entry ")).toList(),
                    "the same entry, built once");
        } finally {
            first.destroyForcibly();
            if (second != null) {
                second.destroyForcibly();
            }
        }
        ModelRegistry registry = new ModelRegistry(home);
        assertEquals(1, registry.list().size());
        assertEquals(List.of(), ModelRegistryTest.hiddenDirs(registry.root().resolve("tiny")));
        assertTrue(registry.verify(registry.list().get(0)).ok());
    }

    private Process start(Path source) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", RegistryChild.class.getName(), home.toString(), source.toString());
        pb.redirectErrorStream(true);
        return pb.start();
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    private static List<String> readAll(Process p) throws IOException {
        try (BufferedReader r = reader(p)) {
            return readAllFrom(r);
        }
    }

    private static List<String> readAllFrom(BufferedReader r) throws IOException {
        List<String> lines = new ArrayList<>();
        String line;
        while ((line = r.readLine()) != null) {
            lines.add(line);
        }
        return lines;
    }
}
