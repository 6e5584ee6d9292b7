package dev.woq.runtime.registry;

import dev.woq.runtime.util.Digests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Re-reads a registry entry and checks every byte against its manifest. */
final class EntryVerifier {
    private EntryVerifier() {}

    /** Re-hashes every byte of {@code entry} against its manifest; reports the first difference. */
    static VerifyResult verify(Entry entry) {
        Path dir = entry.dir();
        Manifest m = entry.manifest();
        long tensorsChecked = 0;
        long bytesChecked = 0;
        for (Manifest.FileInfo f : m.files()) {
            Path p = dir.resolve(f.name());
            if (!Files.isRegularFile(p)) {
                return VerifyResult.failed(f.name(), null, p + " is missing. Re-run `woq quantize --force` to rebuild"
                        + " the entry.", tensorsChecked, bytesChecked);
            }
            try {
                long size = Files.size(p);
                if (size != f.bytes()) {
                    return VerifyResult.failed(f.name(), null, p + " is " + size + " bytes, the manifest records "
                            + f.bytes() + (size < f.bytes() ? " (truncated)" : "") + ". Re-run `woq quantize --force`"
                            + " to rebuild the entry.", tensorsChecked, bytesChecked);
                }
            } catch (IOException e) {
                return VerifyResult.failed(f.name(), null, "Cannot read " + p + ": " + e.getMessage(), tensorsChecked,
                        bytesChecked);
            }
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(Digests.CHUNK);
        for (Manifest.FileInfo f : m.files()) {
            Path p = dir.resolve(f.name());
            try {
                if (f.isSafetensors()) {
                    byte[] header = SourceFingerprint.header(p, f.bytes());
                    bytesChecked += header.length;
                    if (!Digests.hex(Digests.sha256().digest(header)).equals(f.headerSha256())) {
                        return VerifyResult.failed(f.name(), null, p + ": the safetensors header differs from the one"
                                + " recorded. Re-run `woq quantize --force` to rebuild the entry.", tensorsChecked,
                                bytesChecked);
                    }
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        for (Manifest.Tensor t : m.tensors()) {
                            if (!t.file().equals(f.name())) {
                                continue;
                            }
                            String sha = Digests.hashRange(ch, t.offset(), t.bytes(), buf);
                            tensorsChecked++;
                            bytesChecked += t.bytes();
                            if (!sha.equals(t.sha256())) {
                                return VerifyResult.failed(f.name(), t.name(), "tensor '" + t.name() + "' in " + p
                                        + " differs from the one written (SHA-256 " + sha + ", expected " + t.sha256()
                                        + "). The file is corrupt: re-run `woq quantize --force` to rebuild the entry.",
                                        tensorsChecked, bytesChecked);
                            }
                        }
                    }
                } else {
                    String sha = Digests.hashFile(p);
                    bytesChecked += f.bytes();
                    if (!sha.equals(f.sha256())) {
                        return VerifyResult.failed(f.name(), null, p + " differs from the file written (SHA-256 " + sha
                                + ", expected " + f.sha256() + "). Re-run `woq quantize --force` to rebuild the entry.",
                                tensorsChecked, bytesChecked);
                    }
                }
            } catch (IOException e) {
                return VerifyResult.failed(f.name(), null, "Cannot read " + p + ": " + e.getMessage()
                        + ". Re-run `woq quantize --force` to rebuild the entry.", tensorsChecked, bytesChecked);
            }
        }
        return VerifyResult.passed(tensorsChecked, bytesChecked);
    }

}
