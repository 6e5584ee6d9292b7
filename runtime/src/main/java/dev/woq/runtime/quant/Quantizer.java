package dev.woq.runtime.quant;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.ShardedCheckpointWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Quantizes a Hugging Face Llama checkpoint's projection weights into woq's quantized checkpoint
 * layout (see the package documentation), in pure Java and bounded memory.
 *
 * <p>Source tensors are read one at a time, in row blocks of at most 16 MiB,
 * straight from their safetensors files; each block is quantized in parallel over rows and its
 * packed weights written at once. Only the scales and zero points of the tensor being quantized are
 * kept until its packed weights are done ({@code N * K / groupSize * 2} bytes each: 8 MiB for
 * Llama 3 8B's LM head at group size 128, 32 MiB at 32), plus, for int8, the per-channel scales of
 * every projection (2 bytes per output row: about 3 MiB for 8B). Measured on Llama 3 8B's widths
 * (hidden 4096, intermediate 14336, vocabulary 128,256), int4-g128 runs in a 64 MB heap, int4-g32
 * and int8 in 112 MB, at about 350 MB/s of source on two cores.
 */
public final class Quantizer {
    /** Source bytes read per row block (a block always holds at least one row). */
    static final int BLOCK_BYTES = 16 << 20;

    /** Files copied from the source directory when present. */
    public static final List<String> COPIED_FILES =
            List.of(LlamaConfig.FILE_NAME, "generation_config.json", "tokenizer.json", "tokenizer_config.json");

    /** Every int8 {@code qweight} starts at a multiple of this many bytes in its file. */
    public static final int INT8_ALIGNMENT = 64;

    private static final int ROWS_PER_TASK = 16;
    private static final int COPY_BYTES = 16 << 20;

    /**
     * What a run did.
     *
     * @param tensors tensors in the quantized checkpoint
     * @param bytesRead bytes of source tensor data read
     * @param bytesWritten bytes of every file written to the target (shards with headers, index, copies)
     * @param seconds wall-clock time
     */
    public record Report(long tensors, long bytesRead, long bytesWritten, double seconds) {}

    /** Receives progress after every row block: source tensors and bytes done so far, of the totals. */
    @FunctionalInterface
    public interface Progress {
        void update(long tensorsDone, long tensorsTotal, long bytesDone, long bytesTotal);

        Progress NONE = (a, b, c, d) -> {};
    }

    private Quantizer() {}

    /** {@code P.qweight} for a projection weight {@code P.weight}. */
    public static String qweightName(String weightName) {
        return base(weightName) + ".qweight";
    }

    /** {@code P.scales} for a projection weight {@code P.weight}. */
    public static String scalesName(String weightName) {
        return base(weightName) + ".scales";
    }

    /** {@code P.zeros} (int4 only) for a projection weight {@code P.weight}. */
    public static String zerosName(String weightName) {
        return base(weightName) + ".zeros";
    }

    private static String base(String weightName) {
        if (!weightName.endsWith(".weight")) {
            throw new IllegalArgumentException("not a weight name: " + weightName);
        }
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    /**
     * The bf16 weight names that {@code recipe} quantizes for a model of {@code config}: every
     * layer's seven projections, then {@code lm_head.weight} when the recipe quantizes it and the
     * config does not tie it to the embedding.
     */
    public static List<String> quantizedWeights(LlamaConfig config, QuantRecipe recipe) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            names.addAll(LlamaWeights.layer(i).projections());
        }
        if (recipe.quantizeLmHead() && !config.tieWordEmbeddings()) {
            names.add(LlamaWeights.LM_HEAD);
        }
        return names;
    }

    /**
     * Quantizes {@code sourceDir} (a Hugging Face Llama checkpoint: config.json and safetensors)
     * into {@code targetDir}, which must exist and be empty, in shards of at most 5 GB.
     *
     * @throws ConfigException if the recipe cannot take a projection's shape (before anything is written)
     * @throws CheckpointException if the source is missing tensors, has unexpected shapes or dtypes,
     *     holds a non-finite weight, or on an I/O error; the target is then left empty
     */
    public static Report quantize(Path sourceDir, Path targetDir, QuantRecipe recipe, Progress progress) {
        return quantize(sourceDir, targetDir, recipe, ShardedCheckpointWriter.DEFAULT_MAX_SHARD_BYTES, progress);
    }

    /** As {@link #quantize(Path, Path, QuantRecipe, Progress)} with shards of at most {@code maxShardBytes} data bytes. */
    public static Report quantize(
            Path sourceDir, Path targetDir, QuantRecipe recipe, long maxShardBytes, Progress progress) {
        long start = System.nanoTime();
        requireEmptyDirectory(targetDir);
        LlamaConfig config = LlamaConfig.load(sourceDir);
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(sourceDir);
        Plan plan = plan(config, source, recipe);

        List<Path> created = new ArrayList<>();
        boolean done = false;
        long written = 0;
        Run run = new Run(plan, progress);
        try {
            try (ShardedCheckpointWriter writer =
                    new ShardedCheckpointWriter(targetDir, plan.declarations(), maxShardBytes, Map.of("format", "pt"))) {
                created.addAll(writer.files());
                run.writeAll(writer);
                writer.commit();
            } finally {
                run.closeChannels();
            }
            for (String name : COPIED_FILES) {
                Path from = sourceDir.resolve(name);
                if (Files.isRegularFile(from)) {
                    Path to = targetDir.resolve(name);
                    created.add(to);
                    Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
            Path recipeFile = targetDir.resolve(QuantRecipe.FILE_NAME);
            Path tmp = targetDir.resolve("." + QuantRecipe.FILE_NAME + ".tmp");
            created.add(tmp);
            created.add(recipeFile);
            String json = new GsonBuilder().setPrettyPrinting().create().toJson(recipe.toJson()) + "\n";
            Files.writeString(tmp, json, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
            Files.move(tmp, recipeFile, StandardCopyOption.ATOMIC_MOVE);
            for (Path p : created) {
                if (Files.isRegularFile(p)) {
                    written += Files.size(p);
                }
            }
            done = true;
        } catch (IOException e) {
            throw new CheckpointException("Quantizing " + sourceDir + " into " + targetDir + " failed: " + e
                    + ". Check free disk space and permissions; the files written so far were deleted.", e);
        } finally {
            if (!done) {
                for (Path p : created) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // the original failure matters more
                    }
                }
            }
        }
        return new Report(plan.declarations().size(), run.bytesDone, written, (System.nanoTime() - start) / 1e9);
    }

    private static void requireEmptyDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("Target directory " + dir + (Files.exists(dir) ? " is a file" : " does not exist")
                    + ": the quantized checkpoint goes into an existing, empty directory. Create one.");
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                names.add(f.getFileName().toString());
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot list target directory " + dir + ": " + e + ". Check its permissions.", e);
        }
        if (!names.isEmpty()) {
            names.sort(null);
            throw new CheckpointException("Target directory " + dir + " is not empty (it holds " + names.size()
                    + " entries, e.g. '" + names.get(0) + "'): the quantized checkpoint goes into an empty directory."
                    + " Choose another directory or empty it.");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Planning: every check happens here, before any output exists.

    private enum Kind { QWEIGHT, SCALES, ZEROS, COPY }

    private record Step(Kind kind, TensorInfo source, TensorDeclaration output) {}

    private record Plan(QuantRecipe recipe, List<Step> steps, int sourceTensors, long sourceBytes) {
        List<TensorDeclaration> declarations() {
            return steps.stream().map(Step::output).toList();
        }
    }

    private static Plan plan(LlamaConfig config, SafetensorsCheckpoint source, QuantRecipe recipe) {
        source.requireAll(LlamaWeights.names(config));
        Map<String, long[]> expected = new HashMap<>();
        for (LlamaWeights.Entry e : LlamaWeights.entries(config)) {
            expected.put(e.name(), e.shape());
        }
        Set<String> quantized = new LinkedHashSet<>(quantizedWeights(config, recipe));
        for (TensorInfo t : source.tensors()) {
            if (t.dtype() != SafetensorsDtype.BF16 && t.dtype() != SafetensorsDtype.F16
                    && t.dtype() != SafetensorsDtype.F32) {
                throw new CheckpointException("Tensor '" + t.name() + "' " + t.shape() + " in " + t.file() + " is "
                        + t.dtype() + "; woq quantizes BF16, F16 or F32 checkpoints only. Use the model's original"
                        + " Hugging Face release.");
            }
            long[] shape = expected.get(t.name());
            if (shape != null && !java.util.Arrays.equals(shape, t.shapeArray())) {
                throw new CheckpointException("Tensor '" + t.name() + "' in " + t.file() + " has shape " + t.shape()
                        + ", but config.json implies " + java.util.Arrays.toString(shape)
                        + ". The config and the weights come from different models: download them together.");
            }
            if (quantized.contains(t.name())) {
                long n = t.shape().get(0);
                long k = t.shape().get(1);
                recipe.checkShape(t.name(), n, k);
                long groups = recipe instanceof Int4WeightOnly r4 ? n * (k / r4.groupSize()) : n;
                if (groups > Integer.MAX_VALUE - 16 || k > Integer.MAX_VALUE / 4) {
                    throw new ConfigException("Cannot quantize '" + t.name() + "' of shape " + t.shape() + ": it has "
                            + groups + " scales or rows of " + k + " values, more than woq's quantizer handles.");
                }
            }
        }

        List<Step> steps = new ArrayList<>();
        boolean int8 = recipe instanceof Int8WeightOnly;
        if (int8) {
            // All int8 qweights first: each then starts at the data section (64-aligned) plus the
            // sizes of the qweights before it in its shard, each a multiple of 64 (checked below).
            for (TensorInfo t : source.tensors()) {
                if (quantized.contains(t.name())) {
                    WeightFormat.StoredTensor codes = recipe.format()
                            .storedTensors(t.name(), t.shape().get(0), t.shape().get(1)).get(0);
                    steps.add(new Step(Kind.QWEIGHT, t, TensorDeclaration.of(codes.name(), codes.dtype(), codes.shape())));
                }
            }
            for (int i = 0; i < steps.size() - 1; i++) {
                TensorDeclaration d = steps.get(i).output();
                if (d.byteLength() % INT8_ALIGNMENT != 0) {
                    throw new ConfigException("Cannot quantize '" + steps.get(i).source().name() + "' of shape "
                            + steps.get(i).source().shape() + " with int8: its qweight is " + d.byteLength()
                            + " bytes, not a multiple of " + INT8_ALIGNMENT + ", so the int8 weights stored after it"
                            + " would not start on " + INT8_ALIGNMENT + "-byte boundaries, which the int8 kernel needs."
                            + " Use int4, or run this model in bf16.");
                }
            }
        }
        for (TensorInfo t : source.tensors()) {
            if (!quantized.contains(t.name())) {
                steps.add(new Step(Kind.COPY, t, new TensorDeclaration(t.name(), SafetensorsDtype.BF16, t.shape())));
                continue;
            }
            // The layout is the format's own (WeightFormat.storedTensors); int8's codes were placed above.
            for (WeightFormat.StoredTensor stored : recipe.format().storedTensors(t.name(), t.shape().get(0), t.shape().get(1))) {
                Kind kind = switch (stored.role()) {
                    case CODES -> Kind.QWEIGHT;
                    case SCALES -> Kind.SCALES;
                    case ZEROS -> Kind.ZEROS;
                    case WEIGHT -> Kind.COPY;
                };
                if (!(int8 && kind == Kind.QWEIGHT)) {
                    steps.add(new Step(kind, t, TensorDeclaration.of(stored.name(), stored.dtype(), stored.shape())));
                }
            }
        }
        return new Plan(recipe, List.copyOf(steps), source.tensors().size(), source.totalBytes());
    }

    // ------------------------------------------------------------------------------------------
    // Writing.

    private static final class Run {
        private final Plan plan;
        private final Progress progress;
        private final Map<Path, FileChannel> channels = new HashMap<>();
        private final Map<String, short[]> pendingScales = new HashMap<>();
        private final Map<String, short[]> pendingZeros = new HashMap<>();
        private long tensorsDone;
        long bytesDone;

        Run(Plan plan, Progress progress) {
            this.plan = plan;
            this.progress = progress;
        }

        void writeAll(ShardedCheckpointWriter writer) throws IOException {
            progress.update(0, plan.sourceTensors(), 0, plan.sourceBytes());
            for (Step step : plan.steps()) {
                switch (step.kind()) {
                    case QWEIGHT -> quantizeTensor(writer, step);
                    case SCALES -> writeShorts(writer, step.output().name(), pendingScales.remove(step.source().name()));
                    case ZEROS -> writeShorts(writer, step.output().name(), pendingZeros.remove(step.source().name()));
                    case COPY -> copyTensor(writer, step);
                }
            }
        }

        private void quantizeTensor(ShardedCheckpointWriter writer, Step step) throws IOException {
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

        private void copyTensor(ShardedCheckpointWriter writer, Step step) throws IOException {
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
