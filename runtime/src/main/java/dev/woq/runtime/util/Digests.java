package dev.woq.runtime.util;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of files and byte ranges, in hex: the registry's manifests, calibration texts. */
public final class Digests {
    /** Read size when hashing tensors: large enough to stream, small enough to stay off the heap's way. */
    public static final int CHUNK = 8 << 20;

    private Digests() {}

    public static String hashRange(FileChannel ch, long offset, long length, ByteBuffer buf) throws IOException {
        MessageDigest sha = sha256();
        long at = offset;
        long end = offset + length;
        while (at < end) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), end - at));
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + at + " (expected data up to byte " + end + ")");
            }
            buf.flip();
            sha.update(buf);
            at += n;
        }
        return hex(sha.digest());
    }

    public static String hashFile(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return hashRange(ch, 0, ch.size(), ByteBuffer.allocateDirect(1 << 20));
        }
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

}
