package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes one safetensors file by streaming, in bounded memory, with nothing at the target path
 * until the whole file is on disk.
 *
 * <p>All tensors are declared up front, so the header is written first; the data of each tensor
 * then follows in declaration order, in one or more {@link #writeTensor} calls per tensor. The
 * data section starts at a multiple of 64 bytes and the tensors lie contiguously after it, as the
 * format requires. Bytes go to a hidden temporary file beside the target; {@link #commit} fsyncs
 * it and renames it onto the target atomically (replacing any file there), and {@link #close}
 * without a commit deletes it. Typical use:
 *
 * <pre>{@code
 * try (SafetensorsWriter w = new SafetensorsWriter(path, declarations, Map.of("format", "pt"))) {
 *     for (...) w.writeTensor(name, chunk);
 *     w.commit();
 * }
 * }</pre>
 *
 * <p>Any misuse (a tensor out of order, too many or too few bytes) or I/O error throws a {@link
 * CheckpointException}, deletes the temporary file at once, and leaves the writer failed. Not
 * thread-safe.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** Small writes are gathered up to this size so that the disk sees large sequential writes. */
    private static final int STAGING_BYTES = 8 << 20;

    private enum State { OPEN, FINISHED, COMMITTED, FAILED }

    private final Path target;
    private final Path temp;
    private final List<TensorDeclaration> tensors;
    private final Map<String, Integer> positions = new HashMap<>();
    private final long dataStart;
    private final long totalBytes;

    private FileChannel channel;
    private ByteBuffer staging; // allocated on first use: a file of tiny tensors needs little
    private State state = State.OPEN;
    private int current; // index of the tensor being written
    private long writtenToCurrent; // bytes of tensors.get(current) received so far

    /** A writer for {@code tensors}, in this order, with no {@code __metadata__}. */
    public SafetensorsWriter(Path target, List<TensorDeclaration> tensors) {
        this(target, tensors, Map.of());
    }

    /**
     * A writer for {@code tensors}, laid out in this order, with {@code metadata} as the header's
     * {@code __metadata__} (omitted when empty). Hugging Face transformers expects {@code
     * format=pt}. Creates the temporary file and writes the header at once.
     *
     * @throws CheckpointException if two tensors share a name, or the file cannot be created
     */
    public SafetensorsWriter(Path target, List<TensorDeclaration> tensors, Map<String, String> metadata) {
        this.target = target;
        this.tensors = List.copyOf(tensors);
        long total = 0;
        for (int i = 0; i < this.tensors.size(); i++) {
            String name = this.tensors.get(i).name();
            if (name.equals(HeaderParser.METADATA_KEY)) {
                throw new CheckpointException("Cannot write " + target + ": '" + name + "' is reserved for the header's"
                        + " metadata and cannot name a tensor. Rename the tensor.");
            }
            if (positions.put(name, i) != null) {
                throw new CheckpointException("Cannot write " + target + ": tensor '" + name + "' is declared twice."
                        + " Declare each tensor once.");
            }
            total += this.tensors.get(i).byteLength();
        }
        ByteBuffer header = HeaderEncoder.encode(target, this.tensors, new LinkedHashMap<>(metadata));
        this.dataStart = header.remaining();
        this.totalBytes = dataStart + total;
        Path parent = AtomicFiles.parentOf(target);
        if (!Files.isDirectory(parent)) {
            throw new CheckpointException("Cannot write " + target + ": directory " + parent + " does not exist."
                    + " Create it first.");
        }
        this.temp = AtomicFiles.tempSibling(target);
        try {
            channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            writeFully(header);
        } catch (IOException e) {
            throw ioFailure(e);
        }
    }

    /**
     * Appends the remaining bytes of {@code data} (position to limit; its position is advanced to
     * its limit) to tensor {@code name}. Each tensor may take several calls; tensors must come in
     * declaration order, and a tensor's bytes must be complete before the next tensor starts.
     * Zero-byte tensors need no call. Any byte order or buffer kind is accepted; direct buffers of
     * 8 MiB or more go to the disk without a copy.
     *
     * @throws CheckpointException if {@code name} is not the tensor due next, if the previous tensor
     *     is incomplete, if the bytes would exceed the declared size, or on an I/O error
     */
    public void writeTensor(String name, ByteBuffer data) {
        requireOpen();
        if (current >= tensors.size() || !tensors.get(current).name().equals(name)) {
            moveTo(name);
        }
        TensorDeclaration t = tensors.get(current);
        long n = data.remaining();
        if (writtenToCurrent + n > t.byteLength()) {
            throw fail("tensor '" + name + "' is declared as " + Fmt.shape(t.shape()) + " " + t.dtype() + ", "
                    + Fmt.num(t.byteLength()) + " bytes, but " + Fmt.num(writtenToCurrent + n)
                    + " bytes were written to it");
        }
        try {
            append(data);
        } catch (IOException e) {
            throw ioFailure(e);
        }
        writtenToCurrent += n;
    }

    /**
     * Checks that every tensor got all its bytes, then fsyncs the file and renames it onto the
     * target atomically. After this, {@link #close} leaves the file in place.
     *
     * @throws CheckpointException if a tensor is incomplete or on an I/O error; the target is then
     *     untouched and the temporary file deleted
     */
    public void commit() {
        finish();
        publish();
    }

    /**
     * Deletes the temporary file unless {@link #commit} succeeded; a committed file stays. Safe to
     * call more than once.
     */
    @Override
    public void close() {
        if (state != State.COMMITTED) {
            abort();
        }
    }

    /** The path the file will have once committed. */
    public Path target() {
        return target;
    }

    /** The declared tensors, in file order. */
    public List<TensorDeclaration> tensors() {
        return tensors;
    }

    /** Absolute byte offset of the data section in the file: a multiple of 64. */
    public long dataStart() {
        return dataStart;
    }

    /** Size the finished file will have, header included. */
    public long fileSize() {
        return totalBytes;
    }

    /**
     * Completes the data and makes the temporary file durable, without publishing it: {@link
     * ShardedCheckpointWriter} finishes each shard as soon as its last tensor is written, to release
     * the file handle, but publishes all shards only once every one of them is complete.
     */
    void finish() {
        requireOpen();
        requireCompleteFrom(current, "before the file was committed");
        try {
            flushStaging();
            staging = null;
            channel.force(true);
            long size = channel.size();
            channel.close();
            channel = null;
            if (size != totalBytes) { // would be a bug in this class; never publish a wrong file
                throw fail("the temporary file " + temp + " is " + Fmt.num(size) + " bytes, expected "
                        + Fmt.num(totalBytes));
            }
        } catch (IOException e) {
            throw ioFailure(e);
        }
        state = State.FINISHED;
    }

    /** Renames the finished temporary file onto the target. */
    void publish() {
        if (state != State.FINISHED) {
            throw new IllegalStateException("publish() needs a finished writer, state is " + state);
        }
        try {
            AtomicFiles.publish(temp, target);
        } catch (IOException e) {
            throw ioFailure(e);
        }
        state = State.COMMITTED;
    }

    private void moveTo(String name) {
        Integer next = positions.get(name);
        if (next == null) {
            throw fail("tensor '" + name + "' was not declared for this file (" + Fmt.num(tensors.size())
                    + " tensors were)");
        }
        if (next < current) { // moveTo is called only when name is not the current tensor's
            throw fail("tensor '" + name + "' was already written; tensors must be written in declaration order, and '"
                    + expectedName() + "' is due next");
        }
        requireCompleteUpTo(next, "before tensor '" + name + "' was written");
        current = next;
        writtenToCurrent = 0;
    }

    /** Tensors {@code current..to-1} must be complete: the current one fully written, later ones empty. */
    private void requireCompleteUpTo(int to, String when) {
        TensorDeclaration t = tensors.get(current);
        if (writtenToCurrent != t.byteLength()) {
            throw incomplete(t, writtenToCurrent, when);
        }
        for (int i = current + 1; i < to; i++) {
            TensorDeclaration skipped = tensors.get(i);
            if (skipped.byteLength() != 0) {
                throw fail("tensor '" + skipped.name() + "' (declared position " + (i + 1) + ") got no bytes " + when
                        + "; tensors must be written in declaration order");
            }
        }
    }

    private void requireCompleteFrom(int from, String when) {
        if (from < tensors.size()) {
            requireCompleteUpTo(tensors.size(), when);
        }
    }

    private CheckpointException incomplete(TensorDeclaration t, long written, String when) {
        return fail("tensor '" + t.name() + "' is declared as " + Fmt.shape(t.shape()) + " " + t.dtype() + ", "
                + Fmt.num(t.byteLength()) + " bytes, but got only " + Fmt.num(written) + " bytes " + when);
    }

    private String expectedName() {
        TensorDeclaration t = tensors.get(current);
        if (writtenToCurrent < t.byteLength()) {
            return t.name();
        }
        return current + 1 < tensors.size() ? tensors.get(current + 1).name() : "(none: all tensors are written)";
    }

    private void append(ByteBuffer data) throws IOException {
        // Large direct buffers go straight to the disk. Heap buffers always go through the direct
        // staging buffer: the JDK would otherwise copy each into a temporary direct buffer of its
        // full size, which for a multi-gigabyte tensor would double its memory.
        if (data.isDirect() && data.remaining() >= STAGING_BYTES) {
            flushStaging();
            writeFully(data);
            return;
        }
        if (staging == null) {
            staging = ByteBuffer.allocateDirect((int) Math.max(4096, Math.min(STAGING_BYTES, totalBytes - dataStart)));
        }
        while (data.hasRemaining()) {
            if (!staging.hasRemaining()) {
                flushStaging();
            }
            int n = Math.min(data.remaining(), staging.remaining());
            ByteBuffer part = data.slice();
            part.limit(n);
            staging.put(part);
            data.position(data.position() + n);
        }
    }

    private void flushStaging() throws IOException {
        if (staging != null && staging.position() > 0) {
            staging.flip();
            writeFully(staging);
            staging.clear();
        }
    }

    private void writeFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    private void requireOpen() {
        if (state != State.OPEN) {
            throw new CheckpointException("Cannot write " + target + ": the writer is "
                    + (state == State.FAILED ? "closed or failed earlier" : "already committed")
                    + ". Start a new writer.");
        }
    }

    private CheckpointException fail(String what) {
        abort();
        return new CheckpointException("Cannot write " + target + ": " + what + ". Nothing was written to " + target
                + "; fix the caller and write the file again.");
    }

    private CheckpointException ioFailure(IOException e) {
        abort();
        return new CheckpointException("Could not write " + target + " (through temporary file " + temp.getFileName()
                + "): " + e + ". Check free disk space and permissions; nothing was left at the target.", e);
    }

    /** Releases the file and deletes the temporary file; errors here must not mask the first one. */
    private void abort() {
        state = State.FAILED;
        staging = null;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing a file we are about to delete
            }
            channel = null;
        }
        AtomicFiles.deleteQuietly(temp);
    }
}
