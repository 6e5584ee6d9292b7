package dev.woq.runtime.quant;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * Rows of a checkpoint's tensors read into Java arrays: source weights as floats for the
 * quantizer, and quantized projections dequantized back, for checks and tests.
 */
public final class TensorRows {
    private TensorRows() {}

    static void readFully(FileChannel ch, TensorInfo t, long position, ByteBuffer buf) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new CheckpointException(t.file() + " ends at byte " + pos + ", inside tensor '" + t.name() + "' "
                        + t.shape() + " (bytes " + t.fileOffset() + " to " + t.endOffset() + "). The file is truncated:"
                        + " re-download it.");
            }
            pos += r;
        }
    }

    static float toFloat(SafetensorsDtype dtype, byte[] b, int i) {
        switch (dtype) {
            case BF16:
                return WeightCodec.bf16ToFloat((short) ((b[i] & 0xFF) | (b[i + 1] << 8)));
            case F16:
                return WeightCodec.f16ToFloat((short) ((b[i] & 0xFF) | (b[i + 1] << 8)));
            case F32:
                return Float.intBitsToFloat((b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16
                        | (b[i + 3] & 0xFF) << 24);
            default:
                throw new IllegalStateException("unexpected dtype " + dtype);
        }
    }

    /**
     * Rows {@code [firstRow, firstRow + rows)} of quantized projection {@code weightName} (its bf16
     * name, e.g. {@code model.layers.0.mlp.up_proj.weight}) in {@code quantized}, dequantized to
     * float, row-major {@code rows x K}.
     */
    public static float[] dequantizeRows(
            SafetensorsCheckpoint quantized, QuantRecipe recipe, String weightName, int firstRow, int rows) {
        TensorInfo q = quantized.tensor(Quantizer.qweightName(weightName));
        TensorInfo s = quantized.tensor(Quantizer.scalesName(weightName));
        int n = Math.toIntExact(q.shape().get(0));
        if (firstRow < 0 || rows < 0 || firstRow + rows > n) {
            throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + rows) + ") of " + n);
        }
        float[] out;
        if (recipe instanceof Int4Q32WeightOnly) {
            TensorInfo z = quantized.tensor(Quantizer.zerosName(weightName));
            TensorInfo m = quantized.tensor(Quantizer.scaleMaxName(weightName));
            int k = Math.toIntExact(q.shape().get(1) * 2);
            int groups = k / Int4Q32Codec.GROUP;
            byte[] packed = readBytes(q, (long) firstRow * (k / 2), rows * (k / 2));
            byte[] scaleCodes = readBytes(s, (long) firstRow * groups, rows * groups);
            byte[] zeroCodes = readBytes(z, (long) firstRow * groups, rows * groups);
            float scaleMax = ByteBuffer.wrap(readBytes(m, 0, 4)).order(ByteOrder.LITTLE_ENDIAN).getFloat();
            out = new float[rows * k];
            for (int r = 0; r < rows; r++) {
                Int4Q32Codec.dequantizeRow(packed, r * (k / 2), scaleCodes, zeroCodes, r * groups, scaleMax, k, out, r * k);
            }
        } else if (recipe instanceof Int4WeightOnly r4) {
            TensorInfo z = quantized.tensor(Quantizer.zerosName(weightName));
            int k = Math.toIntExact(q.shape().get(1) * 2);
            int groups = k / r4.groupSize();
            byte[] packed = readBytes(q, (long) firstRow * (k / 2), rows * (k / 2));
            short[] scales = readShorts(s, (long) firstRow * groups, rows * groups);
            short[] zeros = readShorts(z, (long) firstRow * groups, rows * groups);
            out = new float[rows * k];
            for (int r = 0; r < rows; r++) {
                WeightCodec.dequantizeInt4Row(packed, r * (k / 2), scales, zeros, r * groups, k, r4.groupSize(), out, r * k);
            }
        } else if (recipe instanceof Int8G32WeightOnly) {
            int k = Math.toIntExact(q.shape().get(1));
            int groups = k / Int8G32WeightOnly.GROUP;
            byte[] values = readBytes(q, (long) firstRow * k, rows * k);
            short[] scales = readShorts(s, (long) firstRow * groups, rows * groups);
            out = new float[rows * k];
            for (int r = 0; r < rows; r++) {
                Int8G32WeightOnly.dequantizeRow(values, r * k, scales, r * groups, k, out, r * k);
            }
        } else {
            int k = Math.toIntExact(q.shape().get(1));
            byte[] values = readBytes(q, (long) firstRow * k, rows * k);
            short[] scales = readShorts(s, firstRow, rows);
            out = new float[rows * k];
            for (int r = 0; r < rows; r++) {
                WeightCodec.dequantizeInt8Row(values, r * k, scales[r], k, out, r * k);
            }
        }
        return out;
    }

    /** Rows of a BF16, F16 or F32 tensor (elements of a vector) as float. */
    static float[] readRows(TensorInfo t, int firstRow, int rows) {
        long rowElems = t.rank() < 2 ? 1 : t.numel() / t.shape().get(0);
        int elem = t.dtype().byteSize();
        byte[] b = readBytes(t, firstRow * rowElems * elem, Math.toIntExact(rows * rowElems * elem));
        float[] out = new float[b.length / elem];
        for (int i = 0; i < out.length; i++) {
            out[i] = toFloat(t.dtype(), b, i * elem);
        }
        return out;
    }

    private static short[] readShorts(TensorInfo t, long firstElement, int count) {
        byte[] b = readBytes(t, firstElement * 2, count * 2);
        short[] out = new short[count];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(out);
        return out;
    }

    private static byte[] readBytes(TensorInfo t, long offset, int length) {
        if (offset < 0 || offset + length > t.byteLength()) {
            throw new IllegalArgumentException("bytes [" + offset + ", " + (offset + length) + ") of tensor '"
                    + t.name() + "' (" + t.byteLength() + " bytes)");
        }
        byte[] out = new byte[length];
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            readFully(ch, t, t.fileOffset() + offset, ByteBuffer.wrap(out));
        } catch (IOException e) {
            throw new CheckpointException("Cannot read tensor '" + t.name() + "' from " + t.file() + ": " + e, e);
        }
        return out;
    }
}
