package dev.woq.cli;

import java.nio.file.Path;

/** Shows an indexed file's path relative to the working directory when it lies under it. */
final class Places {
    private final Path cwd = Path.of("").toAbsolutePath().normalize();

    String show(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        return abs.startsWith(cwd) ? cwd.relativize(abs).toString() : abs.toString();
    }
}
