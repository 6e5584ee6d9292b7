package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The header of one {@code .safetensors} file, read and validated; the data stays on disk.
 *
 * <p>{@link #open} checks everything the reference library checks before it trusts a file: the
 * header length, the JSON, each tensor's dtype, shape and byte count, and that the tensors cover
 * the data section exactly, with no hole, no overlap and no byte missing or left over. A truncated
 * download is therefore caught here, with the tensor it cuts through, rather than as a crash or as
 * garbage weights later. Instances are immutable and hold no open file.
 */
public final class SafetensorsFile {
    /** The largest header the reference library accepts; real headers are well under 1 MB. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path path;
    private final long dataStart;
    private final long fileSize;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors; // in offset order

    private SafetensorsFile(Path path, long dataStart, long fileSize, Map<String, String> metadata,
            Map<String, TensorInfo> tensors) {
        this.path = path;
        this.dataStart = dataStart;
        this.fileSize = fileSize;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Reads and validates the header of the safetensors file at {@code path}, never its data.
     *
     * @throws CheckpointException if the file is missing or unreadable, is not a safetensors file,
     *     is truncated, or its header is inconsistent; the message names the file and the tensor
     */
    public static SafetensorsFile open(Path path) {
        if (!Files.exists(path)) {
            throw new CheckpointException(path + " does not exist. Check the path, or download the checkpoint again.");
        }
        if (!Files.isRegularFile(path)) {
            throw new CheckpointException(path + " is not a regular file; expected a .safetensors file.");
        }
        if (!Files.isReadable(path)) {
            throw new CheckpointException(path + " is not readable by this user. Fix its permissions.");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            long headerLength = readHeaderLength(path, channel, size);
            String json = readHeaderJson(path, channel, headerLength);
            HeaderParser.Header header = HeaderParser.parse(path, json);
            long dataStart = 8 + headerLength;
            List<HeaderEntry> entries = inOffsetOrder(header.entries());
            checkLayout(path, entries, size, dataStart);
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (HeaderEntry e : entries) {
                tensors.put(e.name(), new TensorInfo(e.name(), e.dtype(), e.shape(), path, dataStart + e.begin(),
                        e.byteLength()));
            }
            return new SafetensorsFile(path, dataStart, size, header.metadata(), Collections.unmodifiableMap(tensors));
        } catch (IOException e) {
            throw new CheckpointException("Could not read " + path + ": " + e + ". Check the file and the disk.", e);
        }
    }

    private static long readHeaderLength(Path path, FileChannel channel, long size) throws IOException {
        if (size < 8) {
            throw new CheckpointException(path + " is only " + Fmt.num(size) + " bytes, too short to be a safetensors"
                    + " file (the 8-byte header length alone needs 8). Re-download it.");
        }
        ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, buf, 0);
        long n = buf.getLong(0); // a u64: negative here means above 2^63, which fails the checks below too
        if (n < 0 || n > MAX_HEADER_BYTES || n > size - 8) {
            String told = n < 0 ? Long.toUnsignedString(n) : Fmt.num(n);
            throw new CheckpointException(path + " has a bad header length: its first 8 bytes say the JSON header is "
                    + told + " bytes, but the file is " + Fmt.num(size) + " bytes and headers may be at most "
                    + Fmt.num(MAX_HEADER_BYTES) + ". It is not a safetensors file or it is truncated: re-download it.");
        }
        return n;
    }

    private static String readHeaderJson(Path path, FileChannel channel, long headerLength) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) headerLength); // <= MAX_HEADER_BYTES, fits an int
        readFully(channel, buf, 8);
        buf.flip();
        try {
            // Strict decoding: the format requires UTF-8, and a lenient decoder would hide corruption.
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(buf)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(path + " has a header that is not valid UTF-8 (" + e + "). It is corrupt or"
                    + " not a safetensors file: re-download it.", e);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + at);
            }
            at += n;
        }
    }

    /** Sorted by begin, then end, so that zero-length tensors sharing an offset come first. */
    private static List<HeaderEntry> inOffsetOrder(List<HeaderEntry> entries) {
        List<HeaderEntry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(HeaderEntry::begin).thenComparingLong(HeaderEntry::end));
        return sorted;
    }

    /**
     * The tensors must tile the data section exactly, as the reference library requires: a hole or
     * an overlap means a corrupt header, and a data section shorter or longer than the tensors means
     * a truncated or damaged file.
     */
    private static void checkLayout(Path path, List<HeaderEntry> entries, long size, long dataStart) {
        long dataBytes = size - dataStart;
        long expectedBegin = 0;
        HeaderEntry previous = null;
        for (HeaderEntry e : entries) {
            if (e.begin() < expectedBegin) {
                throw new CheckpointException(path + " has overlapping tensors: '" + e.name() + "' (data_offsets "
                        + e.offsets() + ") overlaps '" + previous.name() + "' (data_offsets " + previous.offsets()
                        + "). The header is corrupt: re-download or re-export the file.");
            }
            if (e.begin() > expectedBegin) {
                throw new CheckpointException(path + " has a hole in its data section: bytes [" + expectedBegin + ", "
                        + e.begin() + ") belong to no tensor (next is '" + e.name() + "', data_offsets " + e.offsets()
                        + "); the format requires tensors to be contiguous. Re-download or re-export the file.");
            }
            if (e.end() > dataBytes) {
                long later = entries.size() - 1 - entries.indexOf(e);
                throw new CheckpointException(path + " is truncated: file is " + Fmt.num(size) + " bytes but tensor '"
                        + e.name() + "' ends at byte " + Fmt.num(dataStart + e.end())
                        + (later == 1 ? " (and 1 later tensor lies beyond the end too)" : "")
                        + (later > 1 ? " (and " + Fmt.num(later) + " later tensors lie beyond the end too)" : "")
                        + ". Re-download the shard.");
            }
            expectedBegin = e.end();
            previous = e;
        }
        if (expectedBegin != dataBytes) {
            throw new CheckpointException(path + " has " + Fmt.num(dataBytes - expectedBegin) + " bytes after its last"
                    + " tensor" + (previous == null ? "" : " '" + previous.name() + "'") + " (the file is " + Fmt.num(size)
                    + " bytes, the tensors end at byte " + Fmt.num(dataStart + expectedBegin) + "); the format allows no"
                    + " trailing data. The file is corrupt: re-download or re-export it.");
        }
    }

    /** The file this header was read from. */
    public Path path() {
        return path;
    }

    /** Absolute byte offset of the data section: 8 plus the header length. */
    public long dataStart() {
        return dataStart;
    }

    /** The file's size in bytes when it was opened. */
    public long fileSize() {
        return fileSize;
    }

    /** The header's {@code __metadata__} (e.g. {@code format=pt}); empty if it has none. Immutable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor named {@code name}, if the file holds it. */
    public Optional<TensorInfo> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** All tensors, in the order of their data in the file. Immutable. */
    public Collection<TensorInfo> tensors() {
        return tensors.values();
    }

    /** Bytes of tensor data: the file size less the header. */
    public long dataBytes() {
        return fileSize - dataStart;
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
