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
    /** The calibration's input importance, or {@code null}: unweighted searches. */
    private final ActivationImportance importance;
    private final Quantizer.Progress progress;
    private final Map<Path, FileChannel> channels = new HashMap<>();
    /** Scales, zeros and scale_max of quantized tensors, by output tensor name, until their step. */
    private final Map<String, byte[]> pendingSide = new HashMap<>();
    private long tensorsDone;
    long bytesDone;

    QuantizeRun(QuantizePlan plan, ActivationImportance importance, Quantizer.Progress progress) {
        this.plan = plan;
        this.importance = importance;
        this.progress = progress;
    }

    void writeAll(ShardedCheckpointWriter writer) throws IOException {
        progress.update(0, plan.sourceTensors(), 0, plan.sourceBytes());
        for (QuantizePlan.Step step : plan.steps()) {
            switch (step.kind()) {
                case QWEIGHT -> quantizeTensor(writer, step);
                case SCALES, ZEROS, SCALE_MAX -> writer.writeTensor(step.output().name(),
                        ByteBuffer.wrap(pendingSide.remove(step.output().name())));
                case COPY -> copyTensor(writer, step);
            }
        }
    }

    private void quantizeTensor(ShardedCheckpointWriter writer, QuantizePlan.Step step) throws IOException {
        TensorInfo t = step.source();
        int n = Math.toIntExact(t.shape().get(0));
        int k = Math.toIntExact(t.shape().get(1));
        QuantRecipe recipe = plan.recipe();
        float[] weights = importance == null ? null : importance.of(t.name());
        if (importance != null && weights == null) {
            throw new IllegalStateException("The calibration pass never ran " + t.name());
        }
        RowCoder coder;
        if (recipe instanceof Int4WeightOnly r4) {
            coder = new Int4Rows(r4, n, k, weights);
        } else if (recipe instanceof Int4Q32WeightOnly q) {
            coder = new Int4Q32Rows(q, n, k, scaleMax(t, n, k), weights);
        } else {
            coder = new Int8Rows(n, k, recipe instanceof Int8G32WeightOnly);
        }
        int outRowBytes = coder.outRowBytes();
        forEachBlock(t, n, k, (r0, rows, in, rowBytes) -> {
            byte[] out = new byte[Math.multiplyExact(rows, outRowBytes)];
            parallelRows(rows, k, (r, row) -> {
                loadRow(t, r0 + r, in, (int) (r * rowBytes), k, row);
                coder.quantize(r0 + r, row, out, r * outRowBytes);
            });
            writer.writeTensor(step.output().name(), ByteBuffer.wrap(out));
            bytesDone += (long) rows * rowBytes;
            if (r0 + rows >= n) {
                tensorsDone++;
            }
            progress.update(tensorsDone, plan.sourceTensors(), bytesDone, plan.sourceBytes());
        });
        String weight = t.name();
        pendingSide.put(Quantizer.scalesName(weight), coder.scales());
        if (coder.zeros() != null) {
            pendingSide.put(Quantizer.zerosName(weight), coder.zeros());
        }
        if (coder instanceof Int4Q32Rows q) {
            pendingSide.put(Quantizer.scaleMaxName(weight),
                    ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(q.scaleMax()).array());
        }
    }

    /**
     * int4-q32's first pass over a matrix: its largest group scale, which the scale codes count down
     * from. One more read of the matrix (from the page cache, as a rule) and no search, so it costs
     * a small part of the second pass.
     */
    private float scaleMax(TensorInfo t, int n, int k) throws IOException {
        float[] bound = new float[1];
        forEachBlock(t, n, k, (r0, rows, in, rowBytes) -> {
            float[] perRow = new float[rows];
            parallelRows(rows, k, (r, row) -> {
                loadRow(t, r0 + r, in, (int) (r * rowBytes), k, row);
                perRow[r] = Int4Q32Codec.scaleBound(row, k);
            });
            for (float b : perRow) {
                bound[0] = Math.max(bound[0], b);
            }
        });
        return bound[0];
    }

    private interface Block {
        void accept(int firstRow, int rows, byte[] in, long rowBytes) throws IOException;
    }

    /** Reads {@code t} in blocks of about {@link #BLOCK_BYTES} (whole rows) and hands each to {@code block}. */
    private void forEachBlock(TensorInfo t, int n, int k, Block block) throws IOException {
        long rowBytes = (long) k * t.dtype().byteSize();
        int rowsPerBlock = (int) Math.max(1, Math.min(n, BLOCK_BYTES / rowBytes));
        byte[] in = new byte[Math.toIntExact(rowsPerBlock * rowBytes)];
        for (int r0 = 0; r0 < n; r0 += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, n - r0);
            read(t, t.fileOffset() + r0 * rowBytes, in, Math.toIntExact(rows * rowBytes));
            block.accept(r0, rows, in, rowBytes);
        }
    }

    private interface RowTask {
        void run(int row, float[] values);
    }

    /** Runs {@code task} on rows {@code [0, rows)} of a block, {@link #ROWS_PER_TASK} rows per parallel task. */
    private static void parallelRows(int rows, int k, RowTask task) {
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        IntStream.range(0, tasks).parallel().forEach(i -> {
            float[] row = new float[k];
            int end = Math.min(rows, (i + 1) * ROWS_PER_TASK);
            for (int r = i * ROWS_PER_TASK; r < end; r++) {
                task.run(r, row);
            }
        });
    }

    /** Quantizes the rows of one matrix and keeps its scales (and zeros) until they are written. */
    private sealed interface RowCoder permits Int4Rows, Int4Q32Rows, Int8Rows {
        int outRowBytes();

        /** Quantizes row {@code index} of the matrix into {@code out} from {@code offset}. */
        void quantize(int index, float[] row, byte[] out, int offset);

        /** The scales as stored, little-endian. */
        byte[] scales();

        /** The zeros as stored, or {@code null} (int8). */
        byte[] zeros();
    }

    /** int4 with bf16 scales; {@code importance} weighs the search (or {@code null}). */
    private record Int4Rows(Int4WeightOnly recipe, int k, float[] importance, short[] s, short[] z) implements RowCoder {
        Int4Rows(Int4WeightOnly recipe, int n, int k, float[] importance) {
            this(recipe, k, importance, new short[n * (k / recipe.groupSize())], new short[n * (k / recipe.groupSize())]);
        }

        @Override
        public int outRowBytes() {
            return k / 2;
        }

        @Override
        public void quantize(int index, float[] row, byte[] out, int offset) {
            recipe.quantizeRow(row, k, importance, out, offset, s, z, index * (k / recipe.groupSize()));
        }

        @Override
        public byte[] scales() {
            return littleEndian(s);
        }

        @Override
        public byte[] zeros() {
            return littleEndian(z);
        }
    }

    /** int4-q32; {@code importance} weighs the search (or {@code null}). */
    private record Int4Q32Rows(Int4Q32WeightOnly recipe, int k, float scaleMax, float[] importance, byte[] s, byte[] z)
            implements RowCoder {
        Int4Q32Rows(Int4Q32WeightOnly recipe, int n, int k, float scaleMax, float[] importance) {
            this(recipe, k, scaleMax, importance, new byte[n * (k / Int4Q32Codec.GROUP)],
                    new byte[n * (k / Int4Q32Codec.GROUP)]);
        }

        @Override
        public int outRowBytes() {
            return k / 2;
        }

        @Override
        public void quantize(int index, float[] row, byte[] out, int offset) {
            Int4Q32Codec.quantizeRow(row, k, scaleMax, recipe.search(), importance, out, offset, s, z,
                    index * (k / Int4Q32Codec.GROUP));
        }

        @Override
        public byte[] scales() {
            return s;
        }

        @Override
        public byte[] zeros() {
            return z;
        }
    }

    /** int8 with one scale per row, or ({@code grouped}) int8-g32's one per 32 inputs. */
    private record Int8Rows(int k, short[] s, boolean grouped) implements RowCoder {
        Int8Rows(int n, int k, boolean grouped) {
            this(k, new short[grouped ? n * (k / Int8G32WeightOnly.GROUP) : n], grouped);
        }

        @Override
        public int outRowBytes() {
            return k;
        }

        @Override
        public void quantize(int index, float[] row, byte[] out, int offset) {
            if (grouped) {
                Int8G32WeightOnly.quantizeRow(row, k, out, offset, s, index * (k / Int8G32WeightOnly.GROUP));
            } else {
                s[index] = WeightCodec.quantizeInt8Row(row, k, out, offset);
            }
        }

        @Override
        public byte[] scales() {
            return littleEndian(s);
        }

        @Override
        public byte[] zeros() {
            return null;
        }
    }

    private static byte[] littleEndian(short[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(values);
        return b.array();
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
