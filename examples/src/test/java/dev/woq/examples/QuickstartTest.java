package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.ModelRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Quickstart}: quantize once into a registry, then stream from the int4 weights. */
class QuickstartTest {
    @TempDir
    Path tmp;

    @Test
    void quantizesOnceThenReusesTheEntryAndStreamsTheSameReply() {
        Path model = ExampleCheckpoints.tiny(tmp.resolve("tiny"));
        ModelRegistry registry = new ModelRegistry(tmp.resolve("home"));
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        GenerationResult a = Quickstart.run(registry, model, "Hello", print(first), print(new ByteArrayOutputStream()));
        List<Entry> entries = registry.list();
        assertEquals(1, entries.size());
        assertEquals("int4-q32", entries.get(0).recipeName());
        var created = entries.get(0).manifest().created();

        ByteArrayOutputStream second = new ByteArrayOutputStream();
        GenerationResult b = Quickstart.run(registry, model, "Hello", print(second), print(new ByteArrayOutputStream()));
        assertEquals(created, registry.list().get(0).manifest().created(), "the entry was reused, not rebuilt");
        assertArrayEquals(a.generatedIds(), b.generatedIds());
        assertFalse(first.toString(StandardCharsets.UTF_8).isBlank());
        assertEquals(first.toString(StandardCharsets.UTF_8), second.toString(StandardCharsets.UTF_8));
        assertTrue(a.generatedIds().length >= 1 && a.generatedIds().length <= 64);
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
