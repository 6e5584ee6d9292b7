package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.*;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.quant.WeightCodec;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a woq model as a GGUF file that llama.cpp loads: {@code llama.*} hyperparameters, Llama 3's
 * vocabulary, tensors renamed ({@link LlamaTensorNames}) with Q and K rows permuted as llama.cpp's
 * converter does, norms in F32, the embedding in BF16 (woq keeps it in bf16 in every format).
 *
 * <ul>
 *   <li>{@code bf16}: every projection in BF16 from the safetensors, bit for bit.
 *   <li>{@code int8}: projections in Q8_0 from woq's int8 registry entry, exactly: an int8 row is codes
 *       with one bf16 scale, and a Q8_0 block is 32 codes with an fp16 scale, so each block takes the
 *       row's codes and its scale, which is exact whenever the bf16 scale is an fp16 value (8
 *       significant bits fit in 11; only scales below fp16's normal range, rows with max|w| under about
 *       0.008, can lose bits). Such rows are requantized from their int8 values and counted.
 *       An int8-g32 entry ({@code P.scales} [out, in/32]) maps the same way block for block: each
 *       Q8_0 block takes its group's codes and its group's bf16 scale as fp16, exact when that
 *       scale is an fp16 value. A block whose scale is not (below fp16's range: the group's max|w|
 *       under about 0.008, or above 65504) is requantized to Q8_0 from its int8 values and counted,
 *       and the notes say how many; the other blocks, of that row too, stay exact.
 *   <li>{@code int4}: projections requantized to Q4_0 from the bf16 source. woq's int4 is asymmetric
 *       (a bf16 scale and zero per group) and Q4_0 symmetric (one fp16 scale per 32), so no woq int4
 *       entry maps onto Q4_0 exactly; the file holds llama.cpp's own Q4_0 of the bf16 weights.
 * </ul>
 */
public final class LlamaGgufExporter {
    private static final int CHUNK_BYTES = 8 << 20;

    /**
     * What an export wrote.
     *
     * @param file the GGUF file
     * @param bytes its size
     * @param projectionType the type of the projections
     * @param tensors tensors written
     * @param requantizedRows int8: rows with a block whose scale was not an fp16 value, requantized; else 0
     * @param requantizedBlocks int8: the Q8_0 blocks of 32 requantized (a per-channel row's every block); else 0
     * @param notes one line per thing the user should know (what was requantized)
     * @param seconds wall-clock time
     */
    public record Report(Path file, long bytes, GgufType projectionType, int tensors, long requantizedRows,
            long requantizedBlocks, List<String> notes, double seconds) {}

    /** Receives progress after every tensor. */
    @FunctionalInterface
    public interface Progress {
        void update(int tensorsDone, int tensorsTotal);
    }

    private LlamaGgufExporter() {}

    /**
     * Exports {@code modelDir} to {@code out}.
     *
     * @param modelDir for bf16 and int4, a Hugging Face bf16 checkpoint; for int8, woq's int8 or
     *     int8-g32 registry entry, whichever its scales' shape says (both hold config.json and
     *     tokenizer.json)
     * @param format what the projections become: bf16 to BF16, int8 to Q8_0, int4 to Q4_0
     * @param name {@code general.name}
     */
    public static Report export(Path modelDir, WeightFormat format, Path out, String name, Progress progress) {
        long start = System.nanoTime();
        LlamaConfig config = LlamaConfig.load(modelDir);
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(modelDir);
        GgufType projType = switch (format.dtype()) {
            case "int8" -> GgufType.Q8_0;
            case "int4" -> GgufType.Q4_0;
            default -> GgufType.BF16;
        };
        boolean fromInt8 = projType == GgufType.Q8_0;
        List<String> notes = new ArrayList<>();
        if (fromInt8 && !ckpt.contains(Quantizer.qweightName(LlamaWeights.layer(0).q()))) {
            throw new CheckpointException(modelDir + " is not woq's int8 registry entry (no "
                    + Quantizer.qweightName(LlamaWeights.layer(0).q()) + "): Q8_0 is written from the int8 entry.");
        }
        if (!fromInt8 && !ckpt.contains(LlamaWeights.layer(0).q())) {
            throw new CheckpointException(modelDir + " holds no bf16 projections (" + LlamaWeights.layer(0).q()
                    + "): " + format.dtype() + " export reads the bf16 checkpoint. Pass the original model directory.");
        }
        if (projType == GgufType.Q4_0) {
            notes.add("int4: projections requantized to Q4_0 from the bf16 weights (woq's int4 is asymmetric with a bf16"
                    + " scale and zero per group, Q4_0 symmetric with an fp16 scale per 32: not the same numbers)");
        }

        List<Plan> plans = new ArrayList<>();
        if (config.ropeScaling() != null) {
            plans.add(new Plan(null, LlamaTensorNames.ROPE_FREQS, GgufType.F32, new long[] {config.headDim() / 2}));
        }
        for (LlamaWeights.Entry e : LlamaWeights.entries(config)) {
            String hf = e.name();
            GgufType type;
            if (e.shape().length == 1) {
                type = GgufType.F32;
            } else if (hf.equals(LlamaWeights.EMBED)) {
                type = GgufType.BF16;
            } else if (hf.equals(LlamaWeights.LM_HEAD) && fromInt8 && !ckpt.contains(Quantizer.qweightName(hf))) {
                type = GgufType.BF16; // the entry kept the LM head in bf16
            } else {
                type = projType;
            }
            long[] dims = e.shape().length == 1 ? new long[] {e.shape()[0]} : new long[] {e.shape()[1], e.shape()[0]};
            if (dims[0] % type.blockSize() != 0) {
                throw new CheckpointException("Cannot write " + hf + " as " + type + ": its rows of " + dims[0]
                        + " values are not whole blocks of " + type.blockSize() + ".");
            }
            plans.add(new Plan(hf, LlamaTensorNames.toGguf(hf), type, dims));
        }

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        metadata.put(ARCHITECTURE, GgufValue.string(LlamaGgufConfig.ARCH));
        metadata.put(NAME, GgufValue.string(name));
        metadata.putAll(LlamaGgufConfig.hyperparameters(config));
        metadata.put(FILE_TYPE, GgufValue.uint32(switch (projType) {
            case Q8_0 -> FILE_TYPE_MOSTLY_Q8_0;
            case Q4_0 -> FILE_TYPE_MOSTLY_Q4_0;
            default -> FILE_TYPE_MOSTLY_BF16;
        }));
        if (projType != GgufType.BF16) {
            metadata.put(QUANTIZATION_VERSION, GgufValue.uint32(2));
        }
        metadata.putAll(GgufVocabulary.fromTokenizerJson(modelDir.resolve("tokenizer.json"), config.vocabSize()).metadata());
        metadata.put(BOS_ID, GgufValue.uint32(config.bosTokenId()));
        if (!config.eosTokenIds().isEmpty()) {
            metadata.put(EOS_ID, GgufValue.uint32(config.eosTokenIds().get(0)));
        }
        chatTemplate(modelDir).ifPresent(t -> metadata.put(CHAT_TEMPLATE, GgufValue.string(t)));

        Requantized requantized = new Requantized();
        List<GgufWriter.Tensor> decls = plans.stream().map(p -> new GgufWriter.Tensor(p.gguf, p.type, p.dims)).toList();
        try (GgufWriter w = new GgufWriter(out, metadata, decls)) {
            for (int i = 0; i < plans.size(); i++) {
                Plan p = plans.get(i);
                if (p.hf == null) {
                    float[] f = LlamaGgufConfig.ropeFreqs(config);
                    ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    GgufType.F32.quantize(f, 0, f.length, b, 0);
                    w.write(p.gguf, b);
                } else if (fromInt8 && p.type == GgufType.Q8_0) {
                    writeInt8AsQ8_0(ckpt, p, config, w, requantized);
                } else {
                    writeFromFloats(ckpt.tensor(p.hf), p, config, w);
                }
                progress.update(i + 1, plans.size());
            }
            w.commit();
        }
        if (requantized.blocks > 0 && requantized.grouped) {
            notes.add("int8-g32: " + requantized.blocks + " of " + requantized.written + " Q8_0 blocks had a bf16 scale that is"
                    + " not an fp16 value and were requantized to Q8_0 from their int8 values; every other block is exact");
        } else if (requantized.blocks > 0) {
            notes.add("int8: " + requantized.rows + " rows had a bf16 scale that is not an fp16 value and were requantized"
                    + " to Q8_0 from their int8 values; every other row is exact");
        }
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (IOException e) {
            throw new GgufException("Cannot read back " + out + ": " + e.getMessage(), e);
        }
        return new Report(out, bytes, projType, plans.size(), requantized.rows, requantized.blocks, notes,
                (System.nanoTime() - start) / 1e9);
    }

    /** One tensor to write: its source (null for rope_freqs), GGUF name, type and ggml dims. */
    private record Plan(String hf, String gguf, GgufType type, long[] dims) {
        int rows() {
            return dims.length == 1 ? 1 : (int) dims[1];
        }

        int rowLength() {
            return (int) dims[0];
        }
    }

    /** A bf16/f16/f32 source tensor as float rows, re-encoded to the plan's type, Q/K rows permuted. */
    private static void writeFromFloats(TensorInfo src, Plan p, LlamaConfig config, GgufWriter w) {
        int k = p.rowLength();
        int rows = p.rows();
        int elem = src.dtype().byteSize();
        long outRowBytes = p.type.bytesFor(k);
        int chunkRows = (int) Math.max(1, CHUNK_BYTES / outRowBytes);
        boolean permute = LlamaTensorNames.permuted(p.hf);
        ByteBuffer data = map(src);
        float[] row = new float[k];
        ByteBuffer out = ByteBuffer.allocate((int) (outRowBytes * Math.min(chunkRows, rows))).order(ByteOrder.LITTLE_ENDIAN);
        for (int r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = Math.min(chunkRows, rows - r0);
            out.clear();
            for (int r = r0; r < r0 + n; r++) {
                int srcRow = permute ? LlamaTensorNames.hfRowOfGgufRow(r, config.headDim()) : r;
                long base = (long) srcRow * k * elem;
                if (p.type == GgufType.BF16 && src.dtype() == SafetensorsDtype.BF16) {
                    out.put((int) ((r - r0) * outRowBytes), data, (int) base, (int) outRowBytes); // the same bits
                    continue;
                }
                for (int c = 0; c < k; c++) {
                    row[c] = toFloat(src.dtype(), data, (int) (base + (long) c * elem));
                }
                p.type.quantize(row, 0, k, out, (int) ((r - r0) * outRowBytes));
            }
            out.limit((int) (n * outRowBytes));
            w.write(p.gguf, out);
        }
    }

    /** What an int8 export could not copy exactly, counted over its tensors. */
    private static final class Requantized {
        long rows; // rows with at least one block requantized
        long blocks; // blocks requantized
        long written; // blocks written from int8 codes, requantized or not
        boolean grouped; // whether a tensor was int8-g32
    }

    /**
     * woq's int8 rows as Q8_0 blocks: each block the row's 32 codes and their scale as fp16, the row's
     * one scale (int8) or the group's (int8-g32, {@code P.scales} [out, in/32]). A block whose scale
     * is not an fp16 value is requantized from its int8 values instead, and counted in {@code requantized}.
     */
    private static void writeInt8AsQ8_0(SafetensorsCheckpoint ckpt, Plan p, LlamaConfig config, GgufWriter w,
            Requantized requantized) {
        TensorInfo q = ckpt.tensor(Quantizer.qweightName(p.hf));
        TensorInfo s = ckpt.tensor(Quantizer.scalesName(p.hf));
        int k = p.rowLength();
        int rows = p.rows();
        int blocks = k / 32;
        boolean grouped = s.rank() == 2;
        requantized.grouped |= grouped;
        long[] expected = grouped ? new long[] {rows, blocks} : new long[] {rows};
        if (!java.util.Arrays.equals(s.shapeArray(), expected)) {
            throw new CheckpointException("Tensor '" + s.name() + "' in " + s.file() + " has shape "
                    + java.util.Arrays.toString(s.shapeArray()) + " where int8 stores " + java.util.Arrays.toString(new long[] {rows})
                    + " (a scale per row) or int8-g32 " + java.util.Arrays.toString(new long[] {rows, blocks})
                    + " (a scale per 32 inputs): the entry is damaged; re-run woq quantize --force.");
        }
        long outRowBytes = GgufType.Q8_0.bytesFor(k);
        int chunkRows = (int) Math.max(1, CHUNK_BYTES / outRowBytes);
        boolean permute = LlamaTensorNames.permuted(p.hf);
        ByteBuffer codes = map(q);
        ByteBuffer scales = map(s);
        float[] block = new float[32];
        ByteBuffer out = ByteBuffer.allocate((int) (outRowBytes * Math.min(chunkRows, rows))).order(ByteOrder.LITTLE_ENDIAN);
        for (int r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = Math.min(chunkRows, rows - r0);
            out.clear();
            for (int r = r0; r < r0 + n; r++) {
                int srcRow = permute ? LlamaTensorNames.hfRowOfGgufRow(r, config.headDim()) : r;
                int at = (int) ((r - r0) * outRowBytes);
                long base = (long) srcRow * k;
                boolean rowRequantized = false;
                for (int b = 0; b < blocks; b++) {
                    int scaleAt = (int) (grouped ? (long) srcRow * blocks + b : srcRow);
                    float scale = WeightCodec.bf16ToFloat(scales.getShort(scaleAt * 2));
                    int blockAt = at + b * 34;
                    if (Half.isExact(scale)) {
                        out.putShort(blockAt, Half.fromFloat(scale));
                        for (int j = 0; j < 32; j++) {
                            out.put(blockAt + 2 + j, codes.get((int) (base + b * 32 + j)));
                        }
                    } else {
                        for (int j = 0; j < 32; j++) {
                            block[j] = codes.get((int) (base + b * 32 + j)) * scale;
                        }
                        GgufType.Q8_0.quantize(block, 0, 32, out, blockAt);
                        requantized.blocks++;
                        rowRequantized = true;
                    }
                }
                if (rowRequantized) {
                    requantized.rows++;
                }
                requantized.written += blocks;
            }
            out.limit((int) (n * outRowBytes));
            w.write(p.gguf, out);
        }
    }

    private static float toFloat(SafetensorsDtype dtype, ByteBuffer b, int at) {
        return switch (dtype) {
            case BF16 -> WeightCodec.bf16ToFloat(b.getShort(at));
            case F16 -> Half.toFloat(b.getShort(at));
            case F32 -> b.getFloat(at);
            default -> throw new CheckpointException("Tensor of dtype " + dtype + " cannot be exported: expected BF16, F16 or F32.");
        };
    }

    private static ByteBuffer map(TensorInfo t) {
        if (t.byteLength() > Integer.MAX_VALUE) {
            throw new CheckpointException("Tensor '" + t.name() + "' has " + t.byteLength() + " bytes; woq exports tensors of up to 2 GiB.");
        }
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, t.fileOffset(), t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException("Cannot read tensor '" + t.name() + "' from " + t.file() + ": " + e.getMessage(), e);
        }
    }

    /** The chat template of {@code tokenizer_config.json}, if it has one as a string. */
    static java.util.Optional<String> chatTemplate(Path modelDir) {
        Path f = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(f)) {
            return java.util.Optional.empty();
        }
        try {
            JsonObject json = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
            JsonElement t = json.get("chat_template");
            return t != null && t.isJsonPrimitive() ? java.util.Optional.of(t.getAsString()) : java.util.Optional.empty();
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("Cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
