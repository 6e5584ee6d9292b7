package dev.woq.runtime.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real file system of a given size (tmpfs) or a read-only one, mounted for one test and
 * unmounted after it. Mounting needs root with CAP_SYS_ADMIN, which woq's CI has; where it is
 * refused (an unprivileged container) the test is reported as skipped with mount's own message,
 * never passed.
 */
final class SmallFileSystem implements AutoCloseable {
    private final Path dir;

    private SmallFileSystem(Path dir) {
        this.dir = dir;
    }

    /** A tmpfs of {@code bytes} at {@code dir} (created). */
    static SmallFileSystem tmpfs(Path dir, long bytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        mount(List.of("mount", "-t", "tmpfs", "-o", "size=" + bytes + ",mode=0755", "woq-test", dir.toString()));
        return new SmallFileSystem(dir);
    }

    /** {@code dir} bind-mounted read-only onto itself: writes fail with EROFS, even for root. */
    static SmallFileSystem readOnlyBind(Path dir) throws IOException, InterruptedException {
        mount(List.of("mount", "--bind", dir.toString(), dir.toString()));
        SmallFileSystem fs = new SmallFileSystem(dir);
        try {
            run(List.of("mount", "-o", "remount,bind,ro", dir.toString()));
        } catch (IOException e) {
            fs.close();
            throw e;
        }
        return fs;
    }

    Path dir() {
        return dir;
    }

    private static void mount(List<String> command) throws IOException, InterruptedException {
        try {
            run(command);
        } catch (IOException e) {
            Assumptions.abort("cannot mount a test file system here (" + e.getMessage() + "): needs root with"
                    + " CAP_SYS_ADMIN");
        }
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + ": " + out);
        }
    }

    @Override
    public void close() {
        try {
            run(List.of("umount", "-l", dir.toString()));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot unmount the test file system at " + dir, e);
        }
    }
}
