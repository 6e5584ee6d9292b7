package dev.woq.runtime.quant;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.ShardedCheckpointWriter;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/** Writes a {@link QuantizePlan}: source rows read in blocks, quantized in parallel, streamed to the shards. */
final class QuantizeRun {
    /** Source bytes read per row block (a block always holds at least one row). */
    static final int BLOCK_BYTES = 16 << 20;
    /** Rows one parallel task quantizes. */
    private static final int ROWS_PER_TASK = 16;
    /** Bytes per read when copying a tensor. */
    private static final int COPY_BYTES = 16 << 20;

    private final QuantizePlan plan;
    private final Quantizer.Progress progress;
    private final Map<Path, FileChannel> channels = new HashMap<>();
    private final Map<String, short[]> pendingScales = new HashMap<>();
    private final Map<String, short[]> pendingZeros = new HashMap<>();
    private long tensorsDone;
    long bytesDone;

    QuantizeRun(QuantizePlan plan, Quantizer.Progress progress) {
        this.plan = plan;
        this.progress = progress;
    }

    void writeAll(ShardedCheckpointWriter writer) throws IOException {
        progress.update(0, plan.sourceTensors(), 0, plan.sourceBytes());
        for (QuantizePlan.Step step : plan.steps()) {
            switch (step.kind()) {
                case QWEIGHT -> quantizeTensor(writer, step);
                case SCALES -> writeShorts(writer, step.output().name(), pendingScales.remove(step.source().name()));
                case ZEROS -> writeShorts(writer, step.output().name(), pendingZeros.remove(step.source().name()));
                case COPY -> copyTensor(writer, step);
            }
        }
    }

    private void quantizeTensor(ShardedCheckpointWriter writer, QuantizePlan.Step step) throws IOException {
        TensorInfo t = step.source();
        int n = Math.toIntExact(t.shape().get(0));
        int k = Math.toIntExact(t.shape().get(1));
        int elem = t.dtype().byteSize();
        long rowBytes = (long) k * elem;
        int rowsPerBlock = (int) Math.max(1, Math.min(n, BLOCK_BYTES / rowBytes));
        byte[] in = new byte[Math.toIntExact(rowsPerBlock * rowBytes)];
        QuantRecipe recipe = plan.recipe();
        int outRowBytes = recipe instanceof Int4WeightOnly ? k / 2 : k;
        byte[] out = new byte[Math.multiplyExact(rowsPerBlock, outRowBytes)];
        int groupSize = recipe instanceof Int4WeightOnly r4 ? r4.groupSize() : k;
        int groupsPerRow = k / groupSize;
        short[] scales = new short[n * groupsPerRow];
        short[] zeros = recipe instanceof Int4WeightOnly ? new short[n * groupsPerRow] : null;
        for (int r0 = 0; r0 < n; r0 += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, n - r0);
            int blockBytes = Math.toIntExact(rows * rowBytes);
            read(t, t.fileOffset() + r0 * rowBytes, in, blockBytes);
            int first = r0;
            int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            IntStream.range(0, tasks).parallel().forEach(task -> {
                float[] row = new float[k];
                int end = Math.min(rows, (task + 1) * ROWS_PER_TASK);
                for (int r = task * ROWS_PER_TASK; r < end; r++) {
                    loadRow(t, first + r, in, (int) (r * rowBytes), k, row);
                    if (zeros != null) {
                        ((Int4WeightOnly) recipe).quantizeRow(row, k, out, r * outRowBytes, scales, zeros,
                                (first + r) * groupsPerRow);
                    } else {
                        scales[first + r] = WeightCodec.quantizeInt8Row(row, k, out, r * outRowBytes);
                    }
                }
            });
            writer.writeTensor(step.output().name(), ByteBuffer.wrap(out, 0, rows * outRowBytes));
            bytesDone += blockBytes;
            if (r0 + rows >= n) {
                tensorsDone++;
            }
            progress.update(tensorsDone, plan.sourceTensors(), bytesDone, plan.sourceBytes());
        }
        pendingScales.put(t.name(), scales);
        if (zeros != null) {
            pendingZeros.put(t.name(), zeros);
        }
    }

    private void writeShorts(ShardedCheckpointWriter writer, String name, short[] values) {
        ByteBuffer buf = ByteBuffer.allocate(Math.min(COPY_BYTES, values.length * 2)).order(ByteOrder.LITTLE_ENDIAN);
        int i = 0;
        while (i < values.length) {
            buf.clear();
            while (i < values.length && buf.remaining() >= 2) {
                buf.putShort(values[i++]);
            }
            buf.flip();
            writer.writeTensor(name, buf);
        }
    }

    private void copyTensor(ShardedCheckpointWriter writer, QuantizePlan.Step step) throws IOException {
        TensorInfo t = step.source();
        int elem = t.dtype().byteSize();
        int chunk = COPY_BYTES / elem * elem;
        byte[] in = new byte[(int) Math.min(chunk, t.byteLength())];
        ByteBuffer out = ByteBuffer.allocate((int) Math.min(COPY_BYTES / elem * 2L, t.numel() * 2))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (long done = 0; done < t.byteLength(); ) {
            int n = (int) Math.min(in.length, t.byteLength() - done);
            read(t, t.fileOffset() + done, in, n);
            if (t.dtype() == SafetensorsDtype.BF16) {
                writer.writeTensor(step.output().name(), ByteBuffer.wrap(in, 0, n));
            } else {
                out.clear();
                for (int i = 0; i < n; i += elem) {
                    out.putShort(WeightCodec.toBf16(TensorRows.toFloat(t.dtype(), in, i)));
                }
                out.flip();
                writer.writeTensor(step.output().name(), out);
            }
            done += n;
            bytesDone += n;
            if (done >= t.byteLength()) {
                tensorsDone++;
            }
            progress.update(tensorsDone, plan.sourceTensors(), bytesDone, plan.sourceBytes());
        }
        if (t.byteLength() == 0) {
            tensorsDone++;
        }
    }

    private void read(TensorInfo t, long position, byte[] into, int length) throws IOException {
        FileChannel ch = channels.get(t.file());
        if (ch == null) {
            ch = FileChannel.open(t.file(), StandardOpenOption.READ);
            channels.put(t.file(), ch);
        }
        TensorRows.readFully(ch, t, position, ByteBuffer.wrap(into, 0, length));
    }

    void closeChannels() {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
        channels.clear();
    }

    /**
     * Decodes row {@code rowIndex} of {@code t} from {@code in} at {@code offset} into {@code row} as
     * bf16-exact floats (F16/F32 rounded to bf16), refusing non-finite values.
     */
    private static void loadRow(TensorInfo t, int rowIndex, byte[] in, int offset, int k, float[] row) {
        SafetensorsDtype dtype = t.dtype();
        int elem = dtype.byteSize();
        boolean finite = true;
        for (int i = 0; i < k; i++) {
            float v = TensorRows.toFloat(dtype, in, offset + i * elem);
            if (dtype != SafetensorsDtype.BF16) {
                v = WeightCodec.roundToBf16(v);
            }
            row[i] = v;
            finite &= Float.isFinite(v);
        }
        if (!finite) {
            for (int i = 0; i < k; i++) {
                if (!Float.isFinite(row[i])) {
                    throw new CheckpointException("Tensor '" + t.name() + "' " + t.shape() + " in " + t.file() + " holds "
                            + row[i] + " at [" + rowIndex + ", " + i + "]" + (dtype == SafetensorsDtype.BF16 ? ""
                                    : " (after rounding to bf16)") + ": a non-finite weight cannot be quantized. The"
                            + " checkpoint is corrupt or was saved after a diverged training run: re-download it.");
                }
            }
        }
    }

}
