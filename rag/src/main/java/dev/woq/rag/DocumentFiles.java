package dev.woq.rag;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The files that paths name: a file itself, a directory's {@code .pdf}, {@code .txt} and
 * {@code .md} files at any depth (sorted, so runs are repeatable). What cannot be listed is
 * reported, not thrown.
 */
final class DocumentFiles {
    /** The files found and the paths that were skipped, with why. */
    record Found(List<Path> files, List<FileOutcome> skipped) {}

    private DocumentFiles() {}

    static Found expand(List<Path> paths) {
        TreeSet<Path> files = new TreeSet<>();
        List<FileOutcome> skipped = new ArrayList<>();
        for (Path given : paths) {
            Path path = given.toAbsolutePath().normalize();
            if (!Files.exists(path)) {
                skipped.add(skip(path, "no such file or directory"));
            } else if (Files.isDirectory(path)) {
                walk(path, files, skipped);
            } else if (!DocumentReader.handles(path)) {
                skipped.add(skip(path, "not a .pdf, .txt or .md file"));
            } else {
                files.add(path);
            }
        }
        return new Found(List.copyOf(files), skipped);
    }

    private static void walk(Path dir, TreeSet<Path> files, List<FileOutcome> skipped) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && DocumentReader.handles(file)) {
                        files.add(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    skipped.add(skip(file, e instanceof AccessDeniedException
                            ? "permission denied" : "cannot be listed: " + e.getMessage()));
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            skipped.add(skip(dir, "cannot be listed: " + e.getMessage()));
        }
    }

    private static FileOutcome skip(Path path, String why) {
        return new FileOutcome(path, FileOutcome.Status.SKIPPED, 0, 0, why);
    }
}
