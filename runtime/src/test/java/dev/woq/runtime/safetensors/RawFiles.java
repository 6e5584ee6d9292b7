package dev.woq.runtime.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Hand-made safetensors files, byte by byte, for tests that need headers no writer would produce. */
final class RawFiles {
    private RawFiles() {}

    /** The 8-byte length, {@code json} padded with spaces to a multiple of {@code padTo}, then {@code data}. */
    static Path write(Path file, String json, int padTo, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + padTo - 1) / padTo * padTo;
        ByteBuffer buf = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(header);
        for (int i = header.length; i < padded; i++) {
            buf.put((byte) ' ');
        }
        buf.put(data);
        Files.write(file, buf.array());
        return file;
    }

    /** Unpadded header, then {@code dataBytes} bytes counting up from 0. */
    static Path write(Path file, String json, int dataBytes) throws IOException {
        return write(file, json, 1, counting(dataBytes));
    }

    /** Bytes 0, 1, 2, ... wrapping at 256: data whose misplacement a test would see. */
    static byte[] counting(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    /** A pattern that differs per tensor and per byte, so that round trips catch swapped or shifted data. */
    static byte[] pattern(int seed, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + (i >>> 8));
        }
        return b;
    }

    /** The bytes of {@code t} as they lie in its file, read at its absolute offset. */
    static byte[] read(TensorInfo t) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(t.byteLength()));
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                if (ch.read(buf, t.fileOffset() + buf.position()) < 0) {
                    throw new IOException("EOF in " + t.file());
                }
            }
        }
        return buf.array();
    }
}
