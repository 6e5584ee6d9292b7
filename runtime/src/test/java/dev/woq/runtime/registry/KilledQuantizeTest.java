package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A quantizing process killed (SIGKILL, or SIGTERM as Ctrl-C) leaves no entry, and the next run succeeds. */
class KilledQuantizeTest {
    @TempDir
    Path home;

    @Test
    void sigtermMidQuantizeDeletesTheTemporaryDirectory() throws Exception {
        Path source = TestCheckpoints.tiny();
        Process child = startChild(source);
        Path modelDir = home.resolve("registry").resolve("tiny");
        List<String> seen = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            awaitProgress(out, seen);
            assertFalse(ModelRegistryTest.hiddenDirs(modelDir).isEmpty(), "a temporary directory while quantizing");
            child.destroy(); // SIGTERM, as Ctrl-C: shutdown hooks run
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertFalse(seen.contains("done"), seen::toString);
        assertEquals(List.of(), ModelRegistryTest.hiddenDirs(modelDir), "the shutdown hook deleted the temporary directory");
        assertEquals(List.of(), new ModelRegistry(home).list());
    }

    private Process startChild(Path source) throws java.io.IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", RegistryChild.class.getName(), home.toString(), source.toString());
        pb.redirectErrorStream(true);
        return pb.start();
    }

    /** Reads the child's output until it has reported progress three times: it is quantizing. */
    private static void awaitProgress(BufferedReader out, List<String> seen) throws java.io.IOException {
        int progressLines = 0;
        String line;
        while (progressLines < 3 && (line = out.readLine()) != null) {
            seen.add(line);
            if (line.startsWith("progress ")) {
                progressLines++;
            }
        }
        if (progressLines < 3) {
            fail("the child ended before quantizing: " + seen);
        }
    }

    @Test
    void sigkillMidQuantizeLeavesNothingCompleteAndTheNextRunSucceeds() throws Exception {
        Path source = TestCheckpoints.tiny();
        Process child = startChild(source);
        List<String> seen = new ArrayList<>();
        Path modelDir = home.resolve("registry").resolve("tiny");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            awaitProgress(out, seen);
            assertFalse(ModelRegistryTest.hiddenDirs(modelDir).isEmpty(), "a temporary directory while quantizing");
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertFalse(seen.contains("done"), seen::toString);

        ModelRegistry registry = new ModelRegistry(home);
        assertEquals(List.of(), registry.list());
        assertFalse(Files.exists(modelDir.resolve("int4-g128")), "nothing at the entry's path");
        assertTrue(registry.find("tiny", "int4-g128").isEmpty());
        List<Path> leftovers = ModelRegistryTest.hiddenDirs(modelDir);
        assertEquals(1, leftovers.size(), leftovers::toString); // SIGKILL runs no shutdown hook

        List<String> log = new ArrayList<>();
        Entry entry = registry.getOrCreate(source, QuantRecipe.parse("int4", 128, false), false,
                Quantizer.Progress.NONE, log::add);
        assertTrue(registry.verify(entry).ok());
        assertEquals(List.of(), ModelRegistryTest.hiddenDirs(modelDir), "the killed run's directory is deleted");
        assertTrue(log.stream().anyMatch(l -> l.contains(leftovers.get(0).toString())), log::toString);
        assertEquals(1, registry.list().size());
    }
}
