package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry with real quantization of the tiny checkpoint. */
class ModelRegistryTest {
    private static final QuantRecipe INT4 = QuantRecipe.parse("int4", 128, false);

    @TempDir
    Path home;

    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    private Entry create(ModelRegistry registry, QuantRecipe recipe, boolean force) {
        return registry.getOrCreate(TestCheckpoints.tiny(), recipe, force, Quantizer.Progress.NONE, log::add);
    }

    @Test
    void createsThenReusesWithoutRewriting() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry first = create(registry, INT4, false);

        assertEquals(home.resolve("registry").resolve("tiny").resolve("int4-g128").toAbsolutePath(), first.dir());
        assertEquals("tiny", first.model());
        assertEquals("int4-g128", first.recipe().id());
        assertTrue(Files.isRegularFile(first.dir().resolve(Manifest.FILE_NAME)));
        Manifest m = first.manifest();
        assertEquals(1, m.formatVersion());
        assertEquals(INT4.toJson(), m.recipe());
        assertEquals("0.35.1", m.versions().get("djl"));
        assertEquals("2.7.1", m.versions().get("pytorch"));
        assertTrue(m.sourceFingerprint().startsWith("sha256:"));
        assertFalse(m.tensors().isEmpty());
        assertTrue(m.tensors().stream().allMatch(t -> t.sha256().length() == 64));
        assertTrue(m.files().stream().anyMatch(f -> f.name().equals("config.json")));
        assertEquals(m.totalBytes(), first.totalBytes());
        assertTrue(first.totalBytes() > 0);
        assertEquals(List.of(), hiddenDirs(first.dir().getParent()), "no temporary directories left");
        byte[] manifestBytes = Files.readAllBytes(first.dir().resolve(Manifest.FILE_NAME));
        Path shard = first.dir().resolve(m.tensors().get(0).file());
        Object shardKey = Files.readAttributes(shard, BasicFileAttributes.class).fileKey();
        FileTime shardTime = Files.getLastModifiedTime(shard);

        AtomicInteger progressCalls = new AtomicInteger();
        Entry second = registry.getOrCreate(TestCheckpoints.tiny(), INT4, false,
                (td, tt, bd, bt) -> progressCalls.incrementAndGet(), log::add);

        // reused, not redone: the quantizer never ran (it reports progress from its first step),
        // and the shard is the same file (same inode), never rewritten (same time stamp)
        assertEquals(0, progressCalls.get(), "the quantizer ran again");
        assertEquals(shardKey, Files.readAttributes(shard, BasicFileAttributes.class).fileKey());
        assertEquals(shardTime, Files.getLastModifiedTime(shard));
        assertEquals(first.manifest().created(), second.manifest().created());
        assertEquals(first.dir(), second.dir());
        assertTrue(java.util.Arrays.equals(manifestBytes, Files.readAllBytes(second.dir().resolve(Manifest.FILE_NAME))));
        assertEquals(List.of(first.dir()), registry.list().stream().map(Entry::dir).toList());
        assertEquals(first.dir(), registry.find("tiny", "int4-g128").orElseThrow().dir());
        assertTrue(registry.find("tiny", "int8").isEmpty());
    }

    @Test
    void forceRebuilds() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry first = create(registry, INT4, false);
        Entry rebuilt = create(registry, INT4, true);

        assertEquals(first.dir(), rebuilt.dir());
        assertTrue(rebuilt.manifest().created().isAfter(first.manifest().created()));
        assertEquals(rebuilt.manifest(), registry.open(rebuilt.dir()).manifest());
        assertEquals(List.of(), hiddenDirs(first.dir().getParent()), "no .old- or .tmp- directories left");
        assertEquals(1, registry.list().size());
        // same weights, same recipe: the same tensors
        assertEquals(first.manifest().tensors(), rebuilt.manifest().tensors());
    }

    @Test
    void recipesAreSeparateEntries() {
        ModelRegistry registry = new ModelRegistry(home);
        create(registry, INT4, false);
        create(registry, QuantRecipe.parse("int8", null, false), false);
        assertEquals(List.of("int4-g128", "int8-g32"), registry.list().stream().map(Entry::recipeName).toList());
    }

    @Test
    void verifyFindsAFlippedByteNamingTensorAndFile() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = create(registry, INT4, false);
        VerifyResult ok = registry.verify(entry);
        assertTrue(ok.ok(), ok.message());
        assertEquals(entry.manifest().tensors().size(), ok.tensorsChecked());

        Manifest.Tensor victim = entry.manifest().tensors().stream()
                .filter(t -> t.bytes() > 16).skip(2).findFirst().orElseThrow();
        Path file = entry.dir().resolve(victim.file());
        long at = victim.offset() + victim.bytes() / 2;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 0x40);
        }

        VerifyResult bad = registry.verify(entry);
        assertFalse(bad.ok());
        assertEquals(victim.file(), bad.file());
        assertEquals(victim.name(), bad.tensor());
        assertTrue(bad.message().contains(victim.name()) && bad.message().contains(file.toString()), bad.message());
    }

    @Test
    void loadingFindsAFlippedByteInAModifiedFileNamingTensorAndFile() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = create(registry, INT4, false);
        Manifest.Tensor victim = quantizedTensor(entry);
        Path file = entry.dir().resolve(victim.file());
        flipByte(file, victim.offset() + victim.bytes() / 2, false);

        CheckpointException e = assertThrows(CheckpointException.class, () -> registry.open(entry.dir()));
        assertTrue(e.getMessage().contains("tensor '" + victim.name() + "'") && e.getMessage().contains(file.toString())
                && e.getMessage().contains("woq quantize --force"), e.getMessage());
        // by registry name alone (no source to rebuild from), resolving refuses the same way
        CheckpointException byName = assertThrows(CheckpointException.class,
                () -> new ModelResolver(registry).resolve("tiny", WeightFormat.parse("int4", 128)));
        assertTrue(byName.getMessage().contains(victim.name()), byName.getMessage());

        // with the source at hand, the damaged entry is rebuilt, saying why
        Entry rebuilt = create(registry, INT4, false);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("rebuilding") && l.contains(victim.name())), log::toString);
        assertTrue(rebuilt.manifest().created().isAfter(entry.manifest().created()));
        assertTrue(registry.verify(rebuilt).ok());
        registry.open(rebuilt.dir());
    }

    @Test
    void loadingChecksHeadersEvenWhenTheTimeStampIsKept() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = create(registry, INT4, false);
        Path file = entry.dir().resolve(quantizedTensor(entry).file());
        flipByte(file, 8 + 2, true); // inside the JSON header, just after its 8-byte length

        CheckpointException e = assertThrows(CheckpointException.class, () -> registry.open(entry.dir()));
        assertTrue(e.getMessage().contains(file + ": its safetensors header differs"), e.getMessage());
    }

    /**
     * The documented limit of the cheap check: a flipped data byte whose file keeps its time stamp
     * (media corruption) loads; {@code verify}, which hashes everything, finds it.
     */
    @Test
    void aDataFlipThatKeepsTheTimeStampIsLeftToVerify() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = create(registry, INT4, false);
        Manifest.Tensor victim = quantizedTensor(entry);
        flipByte(entry.dir().resolve(victim.file()), victim.offset(), true);

        registry.open(entry.dir());
        VerifyResult bad = registry.verify(entry);
        assertFalse(bad.ok());
        assertEquals(victim.name(), bad.tensor());
    }

    private static Manifest.Tensor quantizedTensor(Entry entry) {
        return entry.manifest().tensors().stream().filter(t -> t.name().endsWith(".qweight")).skip(3).findFirst()
                .orElseThrow();
    }

    /**
     * XORs the byte at {@code at} with 0x40. {@code keepTime}: put the file's time stamp back, as
     * silent corruption would leave it; else make sure it moved, since two writes within one tick of
     * the kernel's coarse file clock can share a time stamp (a real edit comes much later).
     */
    static void flipByte(Path file, long at, boolean keepTime) throws IOException {
        FileTime before = Files.getLastModifiedTime(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 0x40);
        }
        if (keepTime) {
            Files.setLastModifiedTime(file, before);
        } else if (Files.getLastModifiedTime(file).equals(before)) {
            Files.setLastModifiedTime(file, FileTime.from(before.toInstant().plusMillis(1)));
        }
    }

    @Test
    void openRefusesATruncatedFileNamingIt() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Entry entry = create(registry, INT4, false);
        Manifest.FileInfo weights = entry.manifest().files().stream()
                .filter(Manifest.FileInfo::isSafetensors).findFirst().orElseThrow();
        Path file = entry.dir().resolve(weights.name());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(weights.bytes() - 100);
        }

        CheckpointException e = assertThrows(CheckpointException.class, () -> registry.open(entry.dir()));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("woq quantize --force"), e.getMessage());
        VerifyResult v = registry.verify(entry);
        assertFalse(v.ok());
        assertEquals(weights.name(), v.file());

        // the next getOrCreate notices and rebuilds
        Entry rebuilt = create(registry, INT4, false);
        assertTrue(registry.verify(rebuilt).ok());
    }

    @Test
    void openRefusesADirectoryWithoutManifest() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Path dir = Files.createDirectories(home.resolve("registry/x/int8"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> registry.open(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("manifest.json"), e.getMessage());
        assertEquals(List.of(), registry.list());
    }

    @Test
    void aFailureMidQuantizeLeavesNoEntryAndTheNextCallSucceeds() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        AtomicInteger calls = new AtomicInteger();
        Quantizer.Progress crash = (tensorsDone, tensorsTotal, bytesDone, bytesTotal) -> {
            if (calls.incrementAndGet() == 3) {
                throw new IllegalStateException("simulated crash");
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> registry.getOrCreate(TestCheckpoints.tiny(), INT4, false, crash, log::add));
        assertEquals("simulated crash", e.getMessage());

        Path modelDir = home.resolve("registry").resolve("tiny");
        assertFalse(Files.exists(modelDir.resolve("int4-g128")));
        assertEquals(List.of(), registry.list());
        assertEquals(List.of(), hiddenDirs(modelDir), "the temporary directory is deleted");

        Entry entry = create(registry, INT4, false);
        assertTrue(registry.verify(entry).ok());
    }

    @Test
    void leftoversOfACrashedRunAreDeleted() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Path modelDir = Files.createDirectories(home.resolve("registry").resolve("tiny"));
        Path stale = Files.createDirectory(modelDir.resolve(".int4-g128.tmp-deadbeef"));
        Files.writeString(stale.resolve("model.safetensors"), "partial");
        Path other = Files.createDirectory(modelDir.resolve(".int8.tmp-cafe")); // another recipe's: not ours to touch

        create(registry, INT4, false);

        assertFalse(Files.exists(stale));
        assertTrue(Files.exists(other));
        assertTrue(log.stream().anyMatch(l -> l.contains(stale.toString())), log::toString);
    }

    @Test
    void concurrentCallsQuantizeOnceAndBothGetTheEntry() throws Exception {
        ModelRegistry registry = new ModelRegistry(home);
        AtomicInteger quantizations = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Entry>> futures = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                futures.add(pool.submit(() -> {
                    AtomicInteger mine = new AtomicInteger();
                    go.await();
                    Entry e = registry.getOrCreate(TestCheckpoints.tiny(), INT4, false,
                            (td, tt, bd, bt) -> {
                                if (mine.getAndIncrement() == 0) {
                                    quantizations.incrementAndGet();
                                    sleep(300); // the other thread finds the lock taken
                                }
                            }, log::add);
                    return e;
                }));
            }
            TestCheckpoints.tiny(); // written before the race starts
            go.countDown();
            Entry a = futures.get(0).get(120, TimeUnit.SECONDS);
            Entry b = futures.get(1).get(120, TimeUnit.SECONDS);
            assertEquals(a.dir(), b.dir());
            assertEquals(a.manifest().created(), b.manifest().created());
            assertEquals(1, quantizations.get(), "quantized once");
            assertTrue(registry.verify(registry.open(a.dir())).ok());
            assertTrue(log.stream().anyMatch(l -> l.startsWith("waiting for another woq quantize of tiny/int4-g128")),
                    log::toString);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void sourceChangeRebuilds() throws IOException {
        ModelRegistry registry = new ModelRegistry(home);
        Path copy = home.resolve("src").resolve("tiny");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(TestCheckpoints.tiny())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Entry first = registry.getOrCreate(copy, INT4, false, Quantizer.Progress.NONE, log::add);
        Files.writeString(copy.resolve("extra_note.json"), "{}");
        Entry second = registry.getOrCreate(copy, INT4, false, Quantizer.Progress.NONE, log::add);
        assertNotEquals(first.manifest().sourceFingerprint(), second.manifest().sourceFingerprint());
        assertTrue(second.manifest().created().isAfter(first.manifest().created()));
        assertTrue(log.stream().anyMatch(l -> l.contains("source checkpoint changed")), log::toString);
    }

    @Test
    void removeDeletesTheEntry() {
        ModelRegistry registry = new ModelRegistry(home);
        Entry e = create(registry, INT4, false);
        registry.remove("tiny", "int4-g128");
        assertFalse(Files.exists(e.dir()));
        assertEquals(List.of(), registry.list());
        assertThrows(dev.woq.runtime.ConfigException.class, () -> registry.remove("tiny", "int4-g128"));
        assertThrows(dev.woq.runtime.ConfigException.class, () -> registry.remove("..", "int4-g128"));
    }

    @Test
    void modelNames() {
        assertEquals("Meta-Llama-3-8B-Instruct", ModelNames.of(Path.of("/m/Meta-Llama-3-8B-Instruct")));
        assertEquals("Meta-Llama-3-8B-Instruct", ModelNames.of(Path.of(
                "/h/.cache/huggingface/hub/models--meta-llama--Meta-Llama-3-8B-Instruct/snapshots/abc123")));
        assertEquals("my_model_v2", ModelNames.sanitize("my model:v2"));
        assertEquals("hidden", ModelNames.sanitize("..hidden"));
        assertEquals("model", ModelNames.sanitize(".."));
        assertEquals("int4-q32-bf16-lm-head", ModelRegistry.entryName(QuantRecipe.parse("int4", null, true)));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static List<Path> hiddenDirs(Path modelDir) throws IOException {
        try (Stream<Path> list = Files.list(modelDir)) {
            return list.filter(Files::isDirectory).filter(p -> p.getFileName().toString().startsWith(".")).toList();
        }
    }
}
