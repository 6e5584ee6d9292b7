package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quantizing into a registry on a small real file system (a tmpfs the test mounts): too little
 * space is refused before anything is written, naming what is needed; a disk that fills up while
 * quantizing gives a clear error and leaves no entry and no temporary directory, and the same
 * registry works once space is back. Where mounting is refused those two are reported skipped,
 * and the write failure is still tried, under a file-size limit in a child process.
 */
class DiskFullQuantizeTest {
    private static final QuantRecipe INT4 = QuantRecipe.parse("int4", 128, false);
    /** Room for the tiny preset's int4 entry (about 42 MB: mostly the bf16 embedding) and its lock. */
    private static final long ROOMY = 64L << 20;

    @TempDir
    Path tmp;

    private final List<String> log = new ArrayList<>();

    @Test
    void tooLittleSpaceIsRefusedBeforeQuantizingNamingWhatIsNeeded() throws Exception {
        try (SmallFileSystem fs = SmallFileSystem.tmpfs(tmp.resolve("home"), 8L << 20)) {
            ModelRegistry registry = new ModelRegistry(fs.dir());
            List<Long> progress = new ArrayList<>();
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> registry.getOrCreate(TestCheckpoints.tiny(), INT4, false,
                            (td, tt, bd, bt) -> progress.add(bd), log::add));
            System.out.println("refused: " + e.getMessage());
            assertTrue(e.getMessage().startsWith("Not enough free disk space for the int4-g128 quantization of "
                    + TestCheckpoints.tiny()), e.getMessage());
            assertTrue(e.getMessage().matches(".*writes about \\d+\\.\\d MB into .* has \\d+\\.\\d MB free.*"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("--woq-home"), e.getMessage());
            assertEquals(List.of(), progress, "nothing was quantized");
            assertNothingLeft(registry);
        }
    }

    @Test
    void aDiskFillingUpMidQuantizeLeavesNothingAndTheRegistryStaysUsable() throws Exception {
        try (SmallFileSystem fs = SmallFileSystem.tmpfs(tmp.resolve("home"), ROOMY)) {
            ModelRegistry registry = new ModelRegistry(fs.dir());
            Path ballast = fs.dir().resolve("ballast");
            AtomicBoolean filled = new AtomicBoolean();
            // Past the free-space check, another program takes all but 1 MB of the disk.
            Quantizer.Progress fillOnce = (td, tt, bd, bt) -> {
                if (filled.compareAndSet(false, true)) {
                    fill(ballast, 1 << 20);
                }
            };
            WoqException e = assertThrows(WoqException.class,
                    () -> registry.getOrCreate(TestCheckpoints.tiny(), INT4, false, fillOnce, log::add));
            assertTrue(filled.get());
            System.out.println("disk full: " + e.getMessage());
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertTrue(e.getMessage().contains("free disk space"), e.getMessage());
            assertNothingLeft(registry);

            Files.delete(ballast);
            Entry entry = registry.getOrCreate(TestCheckpoints.tiny(), INT4, false, Quantizer.Progress.NONE, log::add);
            assertTrue(registry.verify(entry).ok());
            assertEquals(List.of(entry.dir()), registry.list().stream().map(Entry::dir).toList());
            assertEquals(List.of(), ModelRegistryTest.hiddenDirs(entry.dir().getParent()));
        }
    }

    /**
     * The same fault without mounting anything (for machines where mounting is refused): a child
     * JVM whose file-size limit ({@code ulimit -f}, 8 MiB) stops the quantizer's writes partway
     * with EFBIG ("File too large"; the JVM ignores SIGXFSZ), as a full disk stops them with ENOSPC.
     */
    @Test
    void aWriteThatFailsMidQuantizeInAChildProcessLeavesNothing() throws Exception {
        Path home = tmp.resolve("limited-home");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "ulimit -f 8192 && exec \"$0\" \"$@\"", javaBin, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true", QuantizeChild.class.getName(),
                home.toString(), TestCheckpoints.tiny().toString());
        pb.redirectErrorStream(true);
        Process child = pb.start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        System.out.println("write limit: " + out.strip());
        assertEquals(3, child.exitValue(), out);
        assertTrue(out.contains("error ") && out.contains("File too large") && out.contains(".safetensors"), out);
        ModelRegistry registry = new ModelRegistry(home);
        assertNothingLeft(registry);

        Entry entry = registry.getOrCreate(TestCheckpoints.tiny(), INT4, false, Quantizer.Progress.NONE, log::add);
        assertTrue(registry.verify(entry).ok());
    }

    private static void assertNothingLeft(ModelRegistry registry) throws IOException {
        Path modelDir = registry.root().resolve("tiny");
        assertFalse(Files.exists(modelDir.resolve("int4-g128")), "no entry");
        assertEquals(List.of(), ModelRegistryTest.hiddenDirs(modelDir), "no temporary directory");
        assertEquals(List.of(), registry.list());
    }

    /** Writes zeros to {@code file} until its file system has {@code leave} bytes usable. */
    private static void fill(Path file, long leave) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
            long toWrite = Files.getFileStore(file).getUsableSpace() - leave;
            while (toWrite > 0) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), toWrite));
                toWrite -= ch.write(zeros);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
