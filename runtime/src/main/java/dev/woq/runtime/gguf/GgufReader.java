package dev.woq.runtime.gguf;

import java.io.EOFException;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open GGUF file (versions 2 and 3, little-endian): its metadata and tensor infos, read once;
 * tensor data mapped one tensor at a time, so a large file is read in bounded memory.
 *
 * <p>Layout ({@code gguf.h}): magic {@code GGUF}, uint32 version, uint64 tensor count, uint64 KV
 * count; the KV pairs (string key, uint32 type, value); the tensor infos (string name, uint32 rank,
 * uint64 dims, uint32 type, uint64 offset); padding to {@code general.alignment} (default 32); then
 * the data, each tensor at its offset (a multiple of the alignment). Strings are a uint64 length
 * and UTF-8 bytes.
 */
public final class GgufReader implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    /** Magics of the GGML formats before GGUF (2023), read as little-endian uint32. */
    private static final Map<Integer, String> OLD_MAGICS = Map.of(
            0x67676d6c, "ggml (unversioned)", 0x67676d66, "ggmf", 0x67676a74, "ggjt", 0x67676c61, "ggla (LoRA)");

    private final Path path;
    private final FileChannel channel;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataStart;
    private final int alignment;

    private GgufReader(Path path, FileChannel channel, int version, Map<String, GgufValue> metadata,
            Map<String, GgufTensorInfo> tensors, long dataStart, int alignment) {
        this.path = path;
        this.channel = channel;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
        this.alignment = alignment;
    }

    /**
     * Opens {@code path} and reads its header.
     *
     * @throws GgufException for a missing or unreadable file, an old GGML file, another format, an
     *     unsupported version, a truncated or malformed header, an unknown tensor type, or tensor data
     *     beyond the end of the file
     */
    public static GgufReader open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new GgufException("GGUF file " + path + " does not exist.");
        } catch (IOException e) {
            throw new GgufException("Cannot open GGUF file " + path + ": " + e.getMessage(), e);
        }
        try {
            return readHeader(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static GgufReader readHeader(Path path, FileChannel ch) {
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            throw new GgufException("Cannot read " + path + ": " + e.getMessage(), e);
        }
        Input in = new Input(path, ch, size);
        try {
            int magic = in.i32();
            if (magic != MAGIC) {
                String old = OLD_MAGICS.get(magic);
                if (old != null) {
                    throw new GgufException(path + " is a GGML file of the old '" + old + "' format (before August 2023),"
                            + " not GGUF. Convert it to GGUF first: llama.cpp's convert_llama_ggml_to_gguf.py, or"
                            + " convert the original Hugging Face model with convert_hf_to_gguf.py.");
                }
                throw new GgufException(path + " is not a GGUF file (it starts with bytes "
                        + String.format("%08x", Integer.reverseBytes(magic)) + ", not 'GGUF').");
            }
            int version = in.i32();
            if (version == 1) {
                throw new GgufException(path + " is GGUF version 1 (the first draft, 2023), which woq does not read."
                        + " Convert it again with a current llama.cpp (versions 2 and 3 are read).");
            }
            if (version != 2 && version != 3) {
                throw new GgufException(path + " has GGUF version " + Integer.toUnsignedString(version)
                        + (Integer.reverseBytes(version) == 3 || Integer.reverseBytes(version) == 2
                                ? " as little-endian: it is a big-endian GGUF, which woq does not read"
                                : ", which woq does not read (it reads versions 2 and 3)") + ".");
            }
            long tensorCount = in.u64("tensor count");
            long kvCount = in.u64("metadata count");
            Map<String, GgufValue> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = in.string("metadata key");
                GgufValueType type = in.valueType(key);
                metadata.put(key, in.value(type, key));
            }
            int alignment = GgufKeys.DEFAULT_ALIGNMENT;
            GgufValue a = metadata.get(GgufKeys.ALIGNMENT);
            if (a != null) {
                long al = a.asLong();
                if (al <= 0 || (al & (al - 1)) != 0 || al > (1 << 20)) {
                    throw new GgufException(path + ": general.alignment is " + al + ", not a power of two.");
                }
                alignment = (int) al;
            }
            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = in.string("tensor name");
                int rank = in.i32();
                if (rank < 1 || rank > 4) {
                    throw new GgufException(path + ": tensor '" + name + "' has " + rank + " dimensions (1 to 4 expected):"
                            + " the file is damaged.");
                }
                long[] dims = new long[rank];
                long numel = 1;
                for (int d = 0; d < rank; d++) {
                    dims[d] = in.u64("dimension of " + name);
                    if (dims[d] <= 0 || dims[d] > size * 64) {
                        throw new GgufException(path + ": tensor '" + name + "' has dimension " + dims[d] + ": the file is damaged.");
                    }
                    numel = Math.multiplyExact(numel, dims[d]);
                }
                GgufType type = GgufType.ofId(in.i32(), "Tensor '" + name + "' in " + path);
                long offset = in.u64("offset of " + name);
                if (dims[0] % type.blockSize() != 0) {
                    throw new GgufException(path + ": tensor '" + name + "' has rows of " + dims[0] + " values, not whole "
                            + type + " blocks of " + type.blockSize() + ": the file is damaged.");
                }
                if (offset % alignment != 0) {
                    throw new GgufException(path + ": tensor '" + name + "' starts at data offset " + offset
                            + ", not a multiple of the alignment " + alignment + ": the file is damaged.");
                }
                if (tensors.put(name, new GgufTensorInfo(name, dims, type, offset)) != null) {
                    throw new GgufException(path + ": tensor '" + name + "' appears twice: the file is damaged.");
                }
            }
            long dataStart = (in.position() + alignment - 1) / alignment * alignment;
            for (GgufTensorInfo t : tensors.values()) {
                long end = dataStart + t.offset() + t.byteLength();
                if (end > size) {
                    throw new GgufException(path + " is truncated: tensor '" + t.name() + "' ends at byte " + end
                            + " but the file has " + size + " bytes. Download or copy it again.");
                }
            }
            return new GgufReader(path, ch, version, Collections.unmodifiableMap(metadata),
                    Collections.unmodifiableMap(tensors), dataStart, alignment);
        } catch (ArithmeticException e) {
            throw new GgufException(path + ": a tensor's size overflows: the file is damaged.", e);
        }
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /** GGUF version, 2 or 3. */
    public int version() {
        return version;
    }

    /** Alignment of tensor data. */
    public int alignment() {
        return alignment;
    }

    /** Absolute offset of the data section. */
    public long dataStart() {
        return dataStart;
    }

    /** Every metadata pair, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Every tensor, in file order. */
    public List<GgufTensorInfo> tensors() {
        return new ArrayList<>(tensors.values());
    }

    /** The tensor named {@code name}, if present. */
    public Optional<GgufTensorInfo> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The value of {@code key}, if present. */
    public Optional<GgufValue> value(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    /** The string under {@code key}; a missing key or another type is an error naming it. */
    public String requireString(String key) {
        GgufValue v = require(key);
        if (!(v.value() instanceof String s)) {
            throw new GgufException(path + ": metadata '" + key + "' is " + v.type() + ", expected a string.");
        }
        return s;
    }

    /** The integer under {@code key}; a missing key or another type is an error naming it. */
    public long requireLong(String key) {
        GgufValue v = require(key);
        try {
            return v.asLong();
        } catch (GgufException e) {
            throw new GgufException(path + ": metadata '" + key + "' is " + v.type() + ", expected an integer.");
        }
    }

    private GgufValue require(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new GgufException(path + " has no metadata '" + key + "', which woq needs. The file was not written by"
                    + " llama.cpp's converter, or is damaged.");
        }
        return v;
    }

    /**
     * The data of {@code t}, mapped read-only, little-endian, position 0. Tensors beyond 2 GiB are
     * refused (woq maps one tensor at a time; Llama 3 8B's largest is 1 GiB in bf16).
     */
    public ByteBuffer data(GgufTensorInfo t) {
        long len = t.byteLength();
        if (len > Integer.MAX_VALUE) {
            throw new GgufException(path + ": tensor '" + t.name() + "' has " + len + " bytes; woq reads tensors of up to 2 GiB.");
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.offset(), len).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new GgufException("Cannot map tensor '" + t.name() + "' of " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Rows {@code [first, first + count)} of {@code t} dequantized to float, row-major.
     *
     * @param data {@link #data(GgufTensorInfo)} of {@code t}
     */
    public static float[] dequantizeRows(GgufTensorInfo t, ByteBuffer data, int first, int count) {
        int rowLength = Math.toIntExact(t.rowLength());
        int rowBytes = Math.toIntExact(t.type().bytesFor(rowLength));
        float[] out = new float[Math.multiplyExact(rowLength, count)];
        for (int r = 0; r < count; r++) {
            t.type().dequantize(data, Math.multiplyExact(first + r, rowBytes), out, r * rowLength, rowLength);
        }
        return out;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // read-only: nothing to lose
        }
    }

    /** Little-endian reads from the channel through a buffer, with the file's name in every error. */
    private static final class Input {
        private static final int CHUNK = 1 << 20;
        private final Path path;
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        Input(Path path, FileChannel ch, long size) {
            this.path = path;
            this.ch = ch;
            this.size = size;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        private void need(int n) {
            if (buf.remaining() >= n) {
                return;
            }
            long pos = position();
            if (pos + n > size) {
                throw truncated(pos + n);
            }
            buf.compact(); // the unread bytes, from file offset pos, now start at index 0
            bufStart = pos;
            try {
                while (buf.position() < n) {
                    if (ch.read(buf, pos + buf.position()) < 0) {
                        throw new EOFException();
                    }
                }
            } catch (IOException e) {
                throw new GgufException("Cannot read " + path + ": " + e.getMessage(), e);
            }
            buf.flip();
        }

        private GgufException truncated(long needed) {
            return new GgufException(path + " is truncated: its header needs at least " + needed + " bytes but the file has "
                    + size + ". Download or copy it again.");
        }

        int i32() {
            need(4);
            return buf.getInt();
        }

        long u64(String what) {
            need(8);
            long v = buf.getLong();
            if (v < 0) {
                throw new GgufException(path + ": " + what + " is " + Long.toUnsignedString(v) + ": the file is damaged.");
            }
            return v;
        }

        String string(String what) {
            long len = u64("length of a " + what);
            if (len > size) {
                throw new GgufException(path + ": a " + what + " claims " + len + " bytes, more than the file: the file is damaged.");
            }
            byte[] b = new byte[(int) Math.min(len, Integer.MAX_VALUE)];
            int done = 0;
            while (done < b.length) {
                need(1);
                int n = Math.min(buf.remaining(), b.length - done);
                buf.get(b, done, n);
                done += n;
            }
            return new String(b, StandardCharsets.UTF_8);
        }

        GgufValueType valueType(String key) {
            int id = i32();
            GgufValueType t = GgufValueType.ofId(id);
            if (t == null) {
                throw new GgufException(path + ": metadata '" + key + "' has value type " + id + ", unknown: the file is damaged.");
            }
            return t;
        }

        GgufValue value(GgufValueType type, String key) {
            if (type == GgufValueType.ARRAY) {
                GgufValueType element = valueType(key);
                long count = u64("length of array " + key);
                if (count > size) {
                    throw new GgufException(path + ": array '" + key + "' claims " + count + " elements: the file is damaged.");
                }
                List<Object> items = new ArrayList<>((int) Math.min(count, 1 << 20));
                for (long i = 0; i < count; i++) {
                    items.add(element == GgufValueType.ARRAY ? value(element, key) : scalar(element, key));
                }
                return new GgufValue(type, element, Collections.unmodifiableList(items));
            }
            return new GgufValue(type, null, scalar(type, key));
        }

        Object scalar(GgufValueType type, String key) {
            if (type == GgufValueType.STRING) {
                return string("string value of " + key);
            }
            if (type == GgufValueType.ARRAY) {
                return value(type, key);
            }
            need(type.size());
            try {
                return switch (type) {
                    case UINT8 -> buf.get() & 0xFF;
                    case INT8 -> (int) buf.get();
                    case UINT16 -> buf.getShort() & 0xFFFF;
                    case INT16 -> (int) buf.getShort();
                    case UINT32 -> buf.getInt() & 0xFFFFFFFFL;
                    case INT32 -> buf.getInt();
                    case FLOAT32 -> buf.getFloat();
                    case BOOL -> buf.get() != 0;
                    case UINT64, INT64 -> buf.getLong();
                    case FLOAT64 -> buf.getDouble();
                    default -> throw new IllegalStateException(type.toString());
                };
            } catch (BufferUnderflowException e) {
                throw truncated(position() + type.size());
            }
        }
    }
}
