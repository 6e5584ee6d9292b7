package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.util.Digests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The integrity check every load of a registry entry pays for, after the size check of
 * {@link ModelRegistry#open}: cheap when nothing changed, complete where something did.
 *
 * <ul>
 *   <li>Every safetensors header is hashed against the manifest (kilobytes per file): a damaged
 *       header would otherwise map tensors at wrong offsets.
 *   <li>A file whose last-modified time differs from the one the manifest recorded when the entry
 *       was written had its bytes rewritten since (an edit, a bad copy, a tool writing into it):
 *       every tensor of that file is hashed, and the first that differs is named with its file.
 * </ul>
 *
 * <p>Why not hash every tensor on every load: an 8B int4 entry is 5 GB, and loading maps it in
 * 0.1 s without reading it; hashing it would read all of it (seconds from page cache, tens of
 * seconds from a cold disk) before the first token. A stat per file costs microseconds. What this
 * does not catch is a change that keeps the time stamp (silent media corruption, or a tool that
 * restores times): {@code woq registry verify} hashes every byte for that. An entry copied without
 * its times ({@code cp -r} rather than {@code cp -a}) is hashed in full on every load until it is
 * quantized again; the check stays correct, only slower.
 */
final class EntryCheck {
    private EntryCheck() {}

    /** {@code file}'s last-modified time, as the manifest records it. */
    static Instant modified(Path file) throws IOException {
        return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant();
    }

    /**
     * Checks {@code entry}'s headers, and every byte of each file modified since it was written.
     *
     * @throws CheckpointException naming the file (and the tensor) that differs, and what to do
     */
    static void onLoad(Entry entry) {
        Manifest m = entry.manifest();
        for (Manifest.FileInfo f : m.files()) {
            Path p = entry.dir().resolve(f.name());
            try {
                if (f.isSafetensors()) {
                    byte[] header = SourceFingerprint.header(p, f.bytes());
                    if (!Digests.hex(Digests.sha256().digest(header)).equals(f.headerSha256())) {
                        throw corrupt(entry, p + ": its safetensors header differs from the one written");
                    }
                }
                Instant now = modified(p);
                if (f.modified() == null || now.equals(f.modified())) {
                    continue;
                }
                String changed = p + " was modified at " + now + ", after the entry was written (" + f.modified()
                        + "), ";
                if (!f.isSafetensors()) {
                    String sha = hashRange(p, 0, f.bytes());
                    if (!sha.equals(f.sha256())) {
                        throw corrupt(entry, changed + "and differs from the file written (SHA-256 " + sha
                                + ", expected " + f.sha256() + ")");
                    }
                    continue;
                }
                for (Manifest.Tensor t : m.tensors()) {
                    if (t.file().equals(f.name())) {
                        String sha = hashRange(p, t.offset(), t.bytes());
                        if (!sha.equals(t.sha256())) {
                            throw corrupt(entry, changed + "and its tensor '" + t.name() + "' differs from the one"
                                    + " written (SHA-256 " + sha + ", expected " + t.sha256() + ")");
                        }
                    }
                }
            } catch (IOException e) {
                throw corrupt(entry, "cannot read " + p + ": " + e.getMessage());
            }
        }
    }

    private static CheckpointException corrupt(Entry entry, String what) {
        return new CheckpointException("Registry entry " + entry.key() + " is damaged: " + what + ". Re-run"
                + " `woq quantize --force` for this model to rebuild it (`woq registry verify " + entry.key()
                + "` hashes every file).");
    }

    private static String hashRange(Path p, long offset, long length) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return Digests.hashRange(ch, offset, length, ByteBuffer.allocate((int) Math.min(Digests.CHUNK, Math.max(1, length))));
        }
    }
}
