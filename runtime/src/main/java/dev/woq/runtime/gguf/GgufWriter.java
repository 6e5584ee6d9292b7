package dev.woq.runtime.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF file (version 3) as {@link GgufReader} reads it: metadata and tensor infos first,
 * then each tensor's data in declaration order, streamed with {@link #write} in as many pieces as
 * the caller likes. The file is written to a hidden sibling and renamed onto the target by {@link
 * #commit}, so the target is either absent (or its old version) or complete, never half-written;
 * {@link #close} without a commit deletes the sibling.
 */
public final class GgufWriter implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * A tensor to write.
     *
     * @param name its GGUF name
     * @param type its element type
     * @param dims ggml dimensions, innermost first
     */
    public record Tensor(String name, GgufType type, long... dims) {
        public Tensor {
            dims = dims.clone();
        }

        long numel() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }

        long byteLength() {
            return type.bytesFor(numel());
        }
    }

    private final Path target;
    private final Path tmp;
    private final List<Tensor> tensors;
    private final int alignment;
    private final FileChannel out;
    private int current;
    private long writtenOfCurrent;
    private boolean committed;

    /**
     * Creates the hidden sibling and writes the header.
     *
     * @param metadata every key and value, in the order to write them; {@code general.alignment}, if
     *     given, sets the alignment (else 32)
     * @throws GgufException if a tensor's row is not whole blocks of its type, a name repeats, or on
     *     an I/O error
     */
    public GgufWriter(Path target, Map<String, GgufValue> metadata, List<Tensor> tensors) {
        this.target = target.toAbsolutePath();
        this.tensors = List.copyOf(tensors);
        GgufValue a = metadata.get(GgufKeys.ALIGNMENT);
        this.alignment = a == null ? GgufKeys.DEFAULT_ALIGNMENT : (int) a.asLong();
        Set<String> names = new HashSet<>();
        for (Tensor t : this.tensors) {
            if (!names.add(t.name())) {
                throw new GgufException("Cannot write " + target + ": tensor '" + t.name() + "' is declared twice.");
            }
            if (t.dims().length == 0 || t.dims()[0] % t.type().blockSize() != 0) {
                throw new GgufException("Cannot write " + target + ": tensor '" + t.name() + "' has rows of "
                        + (t.dims().length == 0 ? 0 : t.dims()[0]) + " values, not whole " + t.type() + " blocks of "
                        + t.type().blockSize() + ".");
            }
        }
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        this.tmp = this.target.resolveSibling("." + this.target.getFileName() + ".tmp-" + HexFormat.of().formatHex(random));
        try {
            this.out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new GgufException("Cannot create " + tmp + ": " + e.getMessage() + ". Check the directory and its permissions.", e);
        }
        try {
            writeFully(ByteBuffer.wrap(header(metadata)));
            pad();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private byte[] header(Map<String, GgufValue> metadata) {
        Encoder e = new Encoder();
        e.i32(GgufReader.MAGIC);
        e.i32(3);
        e.i64(tensors.size());
        e.i64(metadata.size());
        for (Map.Entry<String, GgufValue> kv : metadata.entrySet()) {
            e.string(kv.getKey());
            e.i32(kv.getValue().type().id());
            e.value(kv.getValue());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            e.string(t.name());
            e.i32(t.dims().length);
            for (long d : t.dims()) {
                e.i64(d);
            }
            e.i32(t.type().id());
            e.i64(offset);
            offset = align(offset + t.byteLength());
        }
        return e.bytes();
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    /**
     * Appends the remaining bytes of {@code data} to the current tensor; a tensor is complete when
     * all its bytes are written, and the next call begins the next one.
     *
     * @param name the tensor the bytes belong to (checked against the declaration order)
     */
    public void write(String name, ByteBuffer data) {
        if (committed) {
            throw new IllegalStateException("already committed");
        }
        if (current >= tensors.size() || !tensors.get(current).name().equals(name)) {
            throw new IllegalStateException("tensor '" + name + "' written out of order; expected "
                    + (current < tensors.size() ? "'" + tensors.get(current).name() + "'" : "none"));
        }
        Tensor t = tensors.get(current);
        if (writtenOfCurrent + data.remaining() > t.byteLength()) {
            throw new IllegalStateException("tensor '" + name + "' gets more than its " + t.byteLength() + " bytes");
        }
        writtenOfCurrent += data.remaining();
        writeFully(data);
        if (writtenOfCurrent == t.byteLength()) {
            pad();
            current++;
            writtenOfCurrent = 0;
        }
    }

    /** Flushes to disk and renames the file onto the target. */
    public void commit() {
        if (current != tensors.size()) {
            throw new IllegalStateException("commit with tensor '" + tensors.get(current).name() + "' incomplete");
        }
        try {
            out.force(true);
            out.close();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
        } catch (AtomicMoveNotSupportedException e) {
            throw new GgufException("Cannot rename " + tmp + " onto " + target + " atomically: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new GgufException("Cannot finish " + target + ": " + e.getMessage() + ". Check free disk space.", e);
        }
    }

    /** The file, once committed. */
    public Path target() {
        return target;
    }

    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            out.close();
        } catch (IOException e) {
            // deleting it anyway
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            // a stray hidden file is harmless; the original error matters more
        }
    }

    private void pad() {
        try {
            long pos = out.position();
            long padded = align(pos);
            if (padded > pos) {
                writeFully(ByteBuffer.allocate((int) (padded - pos)));
            }
        } catch (IOException e) {
            throw new GgufException("Cannot write " + tmp + ": " + e.getMessage() + ". Check free disk space.", e);
        }
    }

    private void writeFully(ByteBuffer b) {
        try {
            while (b.hasRemaining()) {
                out.write(b);
            }
        } catch (IOException e) {
            throw new GgufException("Cannot write " + tmp + ": " + e.getMessage() + ". Check free disk space.", e);
        }
    }

    /** Little-endian encoding of the header. */
    private static final class Encoder {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);

        byte[] bytes() {
            return bytes.toByteArray();
        }

        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void i32(int v) {
            scratch.clear();
            scratch.putInt(v);
            bytes.write(scratch.array(), 0, 4);
        }

        void i64(long v) {
            scratch.clear();
            scratch.putLong(v);
            bytes.write(scratch.array(), 0, 8);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes.write(b, 0, b.length);
        }

        void value(GgufValue v) {
            if (v.type() == GgufValueType.ARRAY) {
                i32(v.elementType().id());
                List<?> items = v.asList();
                i64(items.size());
                for (Object item : items) {
                    if (v.elementType() == GgufValueType.ARRAY) {
                        value((GgufValue) item); // its element type, count and items
                    } else {
                        scalar(v.elementType(), item);
                    }
                }
            } else {
                scalar(v.type(), v.value());
            }
        }

        void scalar(GgufValueType type, Object value) {
            switch (type) {
                case UINT8, INT8 -> bytes.write(((Number) value).intValue());
                case BOOL -> bytes.write((Boolean) value ? 1 : 0);
                case UINT16, INT16 -> {
                    int v = ((Number) value).intValue();
                    bytes.write(v & 0xFF);
                    bytes.write((v >>> 8) & 0xFF);
                }
                case UINT32, INT32 -> i32((int) ((Number) value).longValue());
                case FLOAT32 -> i32(Float.floatToRawIntBits(((Number) value).floatValue()));
                case UINT64, INT64 -> i64(((Number) value).longValue());
                case FLOAT64 -> i64(Double.doubleToRawLongBits(((Number) value).doubleValue()));
                case STRING -> string((String) value);
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
    }
}
