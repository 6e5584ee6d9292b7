package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A fingerprint of a source checkpoint that costs milliseconds even for 16 GB of weights: SHA-256
 * over every {@code *.json} file (config.json, the shard index, generation and tokenizer files) and,
 * for each {@code *.safetensors} file, its name, size and header (the first 8 + N bytes, which hold
 * every tensor's name, dtype, shape and offsets). Weights rewritten in place with the same shapes
 * are not noticed: {@code woq quantize --force} rebuilds.
 */
public final class SourceFingerprint {
    /** Headers are at most 100 MB by the format; real ones are well under 1 MB. */
    private static final long MAX_HEADER_BYTES = 100_000_000L;

    private SourceFingerprint() {}

    /** {@code sha256:<hex>} of {@code sourceDir}. */
    public static String of(Path sourceDir) {
        Path config = sourceDir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new CheckpointException("No config.json in " + sourceDir
                    + ": the model to quantize must be a Hugging Face model directory (config.json, *.safetensors)");
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            List<Path> files;
            try (Stream<Path> list = Files.list(sourceDir)) {
                files = list.filter(Files::isRegularFile)
                        .filter(f -> !f.getFileName().toString().startsWith("."))
                        .sorted()
                        .toList();
            }
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.endsWith(".json")) {
                    update(sha, "json:" + name);
                    byte[] bytes = Files.readAllBytes(f);
                    update(sha, Integer.toString(bytes.length));
                    sha.update(bytes);
                } else if (name.endsWith(".safetensors")) {
                    long size = Files.size(f);
                    update(sha, "safetensors:" + name + ":" + size);
                    sha.update(header(f, size));
                }
            }
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new CheckpointException("Cannot read the model directory " + sourceDir + ": " + e.getMessage()
                    + ". Check the path and its permissions.", e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    /** The first 8 + N bytes; fewer when the file is too short or its length field is implausible. */
    static byte[] header(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (size < 8) {
                return readAt(ch, 0, (int) size);
            }
            long n = ByteBuffer.wrap(readAt(ch, 0, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
            long len = (n < 0 || n > MAX_HEADER_BYTES || n > size - 8) ? 8 : 8 + n;
            return readAt(ch, 0, (int) len);
        }
    }

    static byte[] readAt(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        long at = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, at);
            if (r < 0) {
                break;
            }
            at += r;
        }
        return buf.array();
    }
}
