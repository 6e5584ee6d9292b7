package dev.woq.runtime.gguf;

import dev.woq.runtime.quant.WeightCodec;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The tensor types woq reads and writes, as ggml numbers them ({@code enum ggml_type}): one table of
 * block size, bytes per block and the arithmetic, used by both {@link GgufReader} and {@link
 * GgufWriter}. A block of {@link #blockSize} consecutive values along a row takes {@link #blockBytes}
 * bytes; every layout below is the one in llama.cpp's {@code ggml-common.h}, little-endian, with
 * {@code d}, {@code m}, {@code dmin} as IEEE halves.
 *
 * <ul>
 *   <li>{@code Q4_0} (32 values, 18 bytes): {@code d, qs[16]}; value j is {@code (qs[j] & 15) - 8}
 *       times d, value j+16 is {@code (qs[j] >> 4) - 8} times d.
 *   <li>{@code Q4_1} (32, 20): {@code d, m, qs[16]}; values {@code (nibble) * d + m}, nibbles as Q4_0.
 *   <li>{@code Q8_0} (32, 34): {@code d, qs[32]} signed bytes; value {@code qs[j] * d}.
 *   <li>{@code Q4_K} (256, 144): {@code d, dmin, scales[12], qs[128]}: eight sub-blocks of 32 with
 *       6-bit scale and min packed in {@code scales}; value {@code d*sc*q - dmin*m}. Each 32 bytes of
 *       qs hold two sub-blocks: low nibbles the first, high nibbles the second.
 *   <li>{@code Q5_K} (256, 176): as Q4_K plus {@code qh[32]}: bit {@code 2i} / {@code 2i+1} of
 *       {@code qh[l]} adds 16 to value l of sub-block {@code 2i} / {@code 2i+1}.
 *   <li>{@code Q6_K} (256, 210): {@code ql[128], qh[64], scales[16]} (signed), {@code d}: 6-bit values
 *       minus 32, one signed scale per 16 values; value {@code d * scale * q}.
 * </ul>
 */
public enum GgufType {
    F32(0, 1, 4, true) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            out[o] = b.getFloat(at);
        }

        @Override
        void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
            b.putFloat(at, in[i]);
        }
    },
    F16(1, 1, 2, true) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            out[o] = Half.toFloat(b.getShort(at));
        }

        @Override
        void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
            b.putShort(at, Half.fromFloat(in[i]));
        }
    },
    Q4_0(2, 32, 18, true) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            float d = Half.toFloat(b.getShort(at));
            for (int j = 0; j < 16; j++) {
                int q = b.get(at + 2 + j) & 0xFF;
                out[o + j] = ((q & 0xF) - 8) * d;
                out[o + j + 16] = ((q >>> 4) - 8) * d;
            }
        }

        /** ggml's {@code quantize_row_q4_0_ref}: d = (the value of largest magnitude) / -8. */
        @Override
        void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                float v = in[i + j];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0 ? 1f / d : 0f;
            b.putShort(at, Half.fromFloat(d));
            for (int j = 0; j < 16; j++) {
                int x0 = Math.min(15, (int) (in[i + j] * id + 8.5f));
                int x1 = Math.min(15, (int) (in[i + j + 16] * id + 8.5f));
                b.put(at + 2 + j, (byte) (x0 | (x1 << 4)));
            }
        }
    },
    Q4_1(3, 32, 20, false) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            float d = Half.toFloat(b.getShort(at));
            float m = Half.toFloat(b.getShort(at + 2));
            for (int j = 0; j < 16; j++) {
                int q = b.get(at + 4 + j) & 0xFF;
                out[o + j] = (q & 0xF) * d + m;
                out[o + j + 16] = (q >>> 4) * d + m;
            }
        }
    },
    Q8_0(8, 32, 34, true) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            float d = Half.toFloat(b.getShort(at));
            for (int j = 0; j < 32; j++) {
                out[o + j] = b.get(at + 2 + j) * d;
            }
        }

        /** ggml's {@code quantize_row_q8_0_ref}: d = max|x| / 127, q = round(x / d) half away from zero. */
        @Override
        void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(in[i + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            b.putShort(at, Half.fromFloat(d));
            for (int j = 0; j < 32; j++) {
                b.put(at + 2 + j, (byte) roundHalfAway(in[i + j] * id));
            }
        }
    },
    Q4_K(12, 256, 144, false) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            float d = Half.toFloat(b.getShort(at));
            float dmin = Half.toFloat(b.getShort(at + 2));
            int scales = at + 4;
            int qs = at + 16;
            for (int sub = 0; sub < 8; sub += 2) {
                float d1 = d * scaleK(b, scales, sub);
                float m1 = dmin * minK(b, scales, sub);
                float d2 = d * scaleK(b, scales, sub + 1);
                float m2 = dmin * minK(b, scales, sub + 1);
                for (int l = 0; l < 32; l++) {
                    int q = b.get(qs + l) & 0xFF;
                    out[o + l] = d1 * (q & 0xF) - m1;
                    out[o + 32 + l] = d2 * (q >>> 4) - m2;
                }
                qs += 32;
                o += 64;
            }
        }
    },
    Q5_K(13, 256, 176, false) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            float d = Half.toFloat(b.getShort(at));
            float dmin = Half.toFloat(b.getShort(at + 2));
            int scales = at + 4;
            int qh = at + 16;
            int ql = at + 48;
            for (int sub = 0; sub < 8; sub += 2) {
                float d1 = d * scaleK(b, scales, sub);
                float m1 = dmin * minK(b, scales, sub);
                float d2 = d * scaleK(b, scales, sub + 1);
                float m2 = dmin * minK(b, scales, sub + 1);
                int u1 = 1 << sub;
                int u2 = 2 << sub;
                for (int l = 0; l < 32; l++) {
                    int q = b.get(ql + l) & 0xFF;
                    int h = b.get(qh + l) & 0xFF;
                    out[o + l] = d1 * ((q & 0xF) + ((h & u1) != 0 ? 16 : 0)) - m1;
                    out[o + 32 + l] = d2 * ((q >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
                }
                ql += 32;
                o += 64;
            }
        }
    },
    Q6_K(14, 256, 210, false) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            int ql = at;
            int qh = at + 128;
            int sc = at + 192;
            float d = Half.toFloat(b.getShort(at + 208));
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo0 = b.get(ql + l) & 0xFF;
                    int lo32 = b.get(ql + l + 32) & 0xFF;
                    int h = b.get(qh + l) & 0xFF;
                    int q1 = ((lo0 & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((lo32 & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo0 >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((lo32 >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    out[o + l] = d * b.get(sc + is) * q1;
                    out[o + l + 32] = d * b.get(sc + is + 2) * q2;
                    out[o + l + 64] = d * b.get(sc + is + 4) * q3;
                    out[o + l + 96] = d * b.get(sc + is + 6) * q4;
                }
                o += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    },
    BF16(30, 1, 2, true) {
        @Override
        void dequantizeBlock(ByteBuffer b, int at, float[] out, int o) {
            out[o] = WeightCodec.bf16ToFloat(b.getShort(at));
        }

        @Override
        void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
            b.putShort(at, WeightCodec.toBf16(in[i]));
        }
    };

    /** ggml types woq does not read, by number, so that an error can name them. */
    private static final Map<Integer, String> OTHER_TYPES = Map.ofEntries(
            Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(9, "Q8_1"), Map.entry(10, "Q2_K"),
            Map.entry(11, "Q3_K"), Map.entry(15, "Q8_K"), Map.entry(16, "IQ2_XXS"), Map.entry(17, "IQ2_XS"),
            Map.entry(18, "IQ3_XXS"), Map.entry(19, "IQ1_S"), Map.entry(20, "IQ4_NL"), Map.entry(21, "IQ3_S"),
            Map.entry(22, "IQ2_S"), Map.entry(23, "IQ4_XS"), Map.entry(24, "I8"), Map.entry(25, "I16"),
            Map.entry(26, "I32"), Map.entry(27, "I64"), Map.entry(28, "F64"), Map.entry(29, "IQ1_M"),
            Map.entry(34, "TQ1_0"), Map.entry(35, "TQ2_0"), Map.entry(39, "MXFP4"));

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final boolean writable;

    GgufType(int id, int blockSize, int blockBytes, boolean writable) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.writable = writable;
    }

    /** ggml's number for the type, as stored in a tensor info. */
    public int id() {
        return id;
    }

    /** Values per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether woq can write (quantize to) this type. */
    public boolean writable() {
        return writable;
    }

    /** Bytes that {@code values} values take; {@code values} must be a multiple of the block size. */
    public long bytesFor(long values) {
        if (values % blockSize != 0) {
            throw new IllegalArgumentException(values + " values are not a whole number of " + this + " blocks of " + blockSize);
        }
        return values / blockSize * blockBytes;
    }

    /**
     * Dequantizes {@code count} values (whole blocks) from
     * {@code src} starting at its absolute index {@code at} (little-endian) into {@code out}.
     */
    public void dequantize(ByteBuffer src, int at, float[] out, int outOffset, int count) {
        checkWhole(count);
        for (int v = 0; v < count; v += blockSize) {
            dequantizeBlock(src, at, out, outOffset + v);
            at += blockBytes;
        }
    }

    /**
     * Quantizes {@code count} values (whole blocks) of {@code in} from {@code inOffset} into {@code dst}
     * at its absolute index {@code at} (little-endian), as llama.cpp's reference quantizer does.
     *
     * @throws UnsupportedOperationException for a type woq only reads ({@link #writable()} false)
     */
    public void quantize(float[] in, int inOffset, int count, ByteBuffer dst, int at) {
        checkWhole(count);
        for (int v = 0; v < count; v += blockSize) {
            quantizeBlock(in, inOffset + v, dst, at);
            at += blockBytes;
        }
    }

    private void checkWhole(int count) {
        if (count % blockSize != 0) {
            throw new IllegalArgumentException(count + " values are not whole " + this + " blocks of " + blockSize);
        }
    }

    abstract void dequantizeBlock(ByteBuffer b, int at, float[] out, int o);

    void quantizeBlock(float[] in, int i, ByteBuffer b, int at) {
        throw new UnsupportedOperationException("woq reads " + this + " but does not write it");
    }

    /** C's {@code roundf}: halves away from zero (Java's {@code Math.round} rounds them up). */
    private static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    /** The 6-bit scale of sub-block {@code j} in a K-quant's 12 packed bytes ({@code get_scale_min_k4}). */
    private static int scaleK(ByteBuffer b, int scales, int j) {
        if (j < 4) {
            return b.get(scales + j) & 63;
        }
        return (b.get(scales + j + 4) & 0xF) | (((b.get(scales + j - 4) & 0xFF) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j} ({@code get_scale_min_k4}). */
    private static int minK(ByteBuffer b, int scales, int j) {
        if (j < 4) {
            return b.get(scales + j + 4) & 63;
        }
        return ((b.get(scales + j + 4) & 0xFF) >>> 4) | (((b.get(scales + j) & 0xFF) >>> 6) << 4);
    }

    /**
     * The type numbered {@code id}.
     *
     * @param what the tensor and file, for the error message
     * @throws GgufException naming the type when woq does not read it
     */
    public static GgufType ofId(int id, String what) {
        for (GgufType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        String name = OTHER_TYPES.getOrDefault(id, "unknown");
        throw new GgufException(what + " has tensor type " + name + " (ggml type " + id + "), which woq does not read."
                + " woq reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K and Q6_K: pick a file of one of those"
                + " (e.g. Q4_K_M, Q8_0), or re-quantize it with llama-quantize.");
    }
}
