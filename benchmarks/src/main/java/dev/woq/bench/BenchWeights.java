package dev.woq.bench;

import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.quant.WeightCodec;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One weight matrix in a safetensors file, in the layout the model loads: {@code w.weight} for
 * bf16, or woq's portable quantized layout ({@code w.qweight}, {@code w.scales}, {@code w.zeros}),
 * made by the same {@link WeightCodec} the quantizer uses. Beside it, {@code check.weight}: the
 * first rows as bf16 (dequantized for the quantized formats), so a benchmark can check its kernel's
 * output before timing it.
 *
 * <p>Rows are generated from a per-row seed and written a row at a time, so even the 128256 x 4096
 * LM head never sits in the Java heap.
 */
public final class BenchWeights {
    /** Rows of {@code check.weight}. */
    public static final int CHECK_ROWS = 16;
    private static final int INT4_GROUP = WeightFormat.DEFAULT_GROUP_SIZE;

    private BenchWeights() {}

    /** Writes {@code dir/model.safetensors} for {@code format} (bf16, int8 or int4) and an out x in matrix. */
    public static Path write(Path dir, String format, int out, int in) {
        int check = Math.min(CHECK_ROWS, out);
        List<TensorDeclaration> tensors = new ArrayList<>();
        // The layout is the format's own: the one the quantizer writes and the loader maps.
        for (WeightFormat.StoredTensor t : JmhTable.benchFormat(format).storedTensors("w.weight", out, in)) {
            tensors.add(TensorDeclaration.of(t.name(), t.dtype(), t.shape()));
        }
        tensors.add(TensorDeclaration.of("check.weight", SafetensorsDtype.BF16, check, in));
        Path file = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(file, tensors)) {
            for (TensorDeclaration t : tensors) {
                int rows = t.name().equals("check.weight") ? check : out;
                for (int n = 0; n < rows; n++) {
                    w.writeTensor(t.name(), rowBytes(t.name(), format, n, in));
                }
            }
            w.commit();
        }
        return file;
    }

    /** The bytes row {@code n} of tensor {@code name} holds. */
    private static ByteBuffer rowBytes(String name, String format, int n, int in) {
        float[] row = row(n, in);
        ByteBuffer b = ByteBuffer.allocate(in * 2).order(ByteOrder.LITTLE_ENDIAN);
        if (format.equals("int8")) {
            byte[] q = new byte[in];
            short scale = WeightCodec.quantizeInt8Row(row, in, q, 0);
            return switch (name) {
                case "w.qweight" -> ByteBuffer.wrap(q);
                case "w.scales" -> b.putShort(scale).flip();
                default -> {
                    WeightCodec.dequantizeInt8Row(q, 0, scale, in, row, 0);
                    yield bf16(row, b);
                }
            };
        }
        if (format.equals("int4")) {
            int groups = in / INT4_GROUP;
            byte[] packed = new byte[in / 2];
            short[] scales = new short[groups];
            short[] zeros = new short[groups];
            WeightCodec.quantizeInt4Row(row, in, INT4_GROUP, packed, 0, scales, zeros, 0);
            return switch (name) {
                case "w.qweight" -> ByteBuffer.wrap(packed);
                case "w.scales" -> shorts(scales, b);
                case "w.zeros" -> shorts(zeros, b);
                default -> {
                    WeightCodec.dequantizeInt4Row(packed, 0, scales, zeros, 0, in, INT4_GROUP, row, 0);
                    yield bf16(row, b);
                }
            };
        }
        return bf16(row, b);
    }

    /** Row {@code n}: uniform in [-0.05, 0.05), like a trained layer's scale. */
    static float[] row(int n, int in) {
        SplittableRandom r = new SplittableRandom(0x5EED_0000L + n);
        float[] row = new float[in];
        for (int k = 0; k < in; k++) {
            row[k] = (float) ((r.nextDouble() - 0.5) * 0.1);
        }
        return row;
    }

    private static ByteBuffer bf16(float[] row, ByteBuffer b) {
        for (float v : row) {
            b.putShort(WeightCodec.toBf16(v));
        }
        return b.flip();
    }

    private static ByteBuffer shorts(short[] values, ByteBuffer b) {
        for (short v : values) {
            b.putShort(v);
        }
        return b.flip();
    }
}
