package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --model} as a directory or as a Hugging Face hub name in the local cache. */
class ModelLocatorTest {
    @TempDir
    Path tmp;

    @Test
    void directoryWithConfigIsUsedAsIs() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), "{}");
        assertEquals(dir, ModelLocator.locate(dir.toString(), tmp.resolve("hub")));
    }

    @Test
    void directoryWithoutConfigIsRefusedByPath() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ModelLocator.locate(dir.toString(), tmp.resolve("hub")));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void hubNameResolvesToTheSnapshotThatRefsMainNames() throws IOException {
        Path hub = tmp.resolve("hub");
        Path repo = hub.resolve("models--meta-llama--Meta-Llama-3-8B-Instruct");
        Path old = Files.createDirectories(repo.resolve("snapshots/aaa111"));
        Path current = Files.createDirectories(repo.resolve("snapshots/bbb222"));
        Files.writeString(old.resolve("config.json"), "{}");
        Files.writeString(current.resolve("config.json"), "{}");
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), "bbb222\n");

        assertEquals(current, ModelLocator.locate("meta-llama/Meta-Llama-3-8B-Instruct", hub));
    }

    @Test
    void hubNameWithOneSnapshotAndNoRefIsFound() throws IOException {
        Path hub = tmp.resolve("hub");
        Path only = Files.createDirectories(hub.resolve("models--org--model/snapshots/ccc333"));
        Files.writeString(only.resolve("config.json"), "{}");
        assertEquals(only, ModelLocator.locate("org/model", hub));
    }

    @Test
    void unknownModelNamesEveryPlaceLookedAt() {
        Path hub = tmp.resolve("hub");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelLocator.locate("org/missing", hub));
        assertTrue(e.getMessage().contains("models--org--missing"), e.getMessage());
        assertTrue(e.getMessage().contains("org/missing"), e.getMessage());
    }
}
