package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.Int4WeightOnly;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.ModelRegistry;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The int4 kernel layout cached in a registry entry: written once, mapped after, never trusted blindly. */
class Int4PackCacheTest {
    private static final int[] PROMPT = {128000, 2028, 374, 264, 1296};

    @TempDir
    Path home;

    @Test
    void theFirstLoadWritesTheCacheLaterLoadsMapItAndADamagedOneIsRebuiltWithTheSameLogits() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = registry.getOrCreate(TestCheckpoints.tiny(), new Int4WeightOnly(64), false,
                Quantizer.Progress.NONE, note -> {});
        TorchRuntime torch = TorchRuntime.start(2);

        float[] first = logits(torch, entry.dir());
        List<Path> caches = cacheFiles(entry.dir());
        assertEquals(1, caches.size(), "one cache file after the first load: " + caches);
        Path cache = caches.get(0);
        long size = Files.size(cache);
        long written = Files.getLastModifiedTime(cache).toMillis();

        assertArrayEquals(first, logits(torch, entry.dir()), "mapped from the cache: the same logits");
        assertEquals(written, Files.getLastModifiedTime(cache).toMillis(), "a cache that served the load is not rewritten");

        try (RandomAccessFile f = new RandomAccessFile(cache.toFile(), "rw")) {
            f.setLength(size / 2);
        }
        assertArrayEquals(first, logits(torch, entry.dir()), "a truncated cache is ignored");
        assertEquals(size, Files.size(cache), "and rebuilt");

        assertTrue(registry.verify(registry.open(entry.dir())).ok(), "the cache is not part of the entry's manifest");
    }

    private static float[] logits(TorchRuntime torch, Path dir) {
        // The cache holds libtorch's layout: woq's AMX kernel packs at load and needs none.
        try (LlamaModel model = LlamaModel.load(torch, dir, NativeKernels.none()); InferenceSession s = model.newSession(PROMPT.length)) {
            return s.prefill(PROMPT);
        }
    }

    private static List<Path> cacheFiles(Path entry) throws IOException {
        try (Stream<Path> files = Files.walk(entry.resolve(Int4PackCache.DIR))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
        }
    }
}
