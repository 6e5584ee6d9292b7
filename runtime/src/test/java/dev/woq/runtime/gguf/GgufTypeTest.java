package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Each tensor type dequantized against values worked out by hand from the block layouts in
 * llama.cpp's ggml-common.h / ggml-quants.c, and the two quantizers woq writes (Q8_0, Q4_0) against
 * hand-computed codes.
 */
class GgufTypeTest {
    private static ByteBuffer block(GgufType t) {
        return ByteBuffer.allocate(t.blockBytes()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] dequantize(GgufType t, ByteBuffer b) {
        float[] out = new float[t.blockSize()];
        t.dequantize(b, 0, out, 0, t.blockSize());
        return out;
    }

    private static void assertValue(float expected, float actual, String what) {
        assertEquals(expected, actual, 0f, what); // delta 0: exact, and -0 equals 0
    }

    @Test
    void tableHasGgmlNumbersBlockSizesAndBytes() {
        assertEquals(0, GgufType.F32.id());
        assertEquals(1, GgufType.F16.id());
        assertEquals(2, GgufType.Q4_0.id());
        assertEquals(3, GgufType.Q4_1.id());
        assertEquals(8, GgufType.Q8_0.id());
        assertEquals(12, GgufType.Q4_K.id());
        assertEquals(13, GgufType.Q5_K.id());
        assertEquals(14, GgufType.Q6_K.id());
        assertEquals(30, GgufType.BF16.id());
        // sizeof(block_q4_0) = 2 + 16, block_q4_1 = 4 + 16, block_q8_0 = 2 + 32,
        // block_q4_K = 4 + 12 + 128, block_q5_K = 4 + 12 + 32 + 128, block_q6_K = 128 + 64 + 16 + 2
        assertEquals(18, GgufType.Q4_0.blockBytes());
        assertEquals(20, GgufType.Q4_1.blockBytes());
        assertEquals(34, GgufType.Q8_0.blockBytes());
        assertEquals(144, GgufType.Q4_K.blockBytes());
        assertEquals(176, GgufType.Q5_K.blockBytes());
        assertEquals(210, GgufType.Q6_K.blockBytes());
        assertEquals(256, GgufType.Q6_K.blockSize());
        assertEquals(32 * 18 / 32 * 4, GgufType.Q4_0.bytesFor(128));
    }

    @Test
    void halfConversionRoundsToNearestEven() {
        assertEquals((short) 0x3C00, Half.fromFloat(1f));
        assertEquals((short) 0xC000, Half.fromFloat(-2f));
        assertEquals((short) 0x7BFF, Half.fromFloat(65504f));
        assertEquals((short) 0x7C00, Half.fromFloat(65520f)); // halfway to the next: infinity
        assertEquals((short) 0x0001, Half.fromFloat(0x1p-24f)); // smallest subnormal
        assertEquals((short) 0x0000, Half.fromFloat(0x1p-25f)); // tie: to even, zero
        assertEquals((short) 0x0002, Half.fromFloat(3 * 0x1p-25f)); // tie 1.5 ulp: to even, 2
        assertEquals((short) 0x3C00, Half.fromFloat(1f + 0x1p-11f)); // tie: to even
        assertEquals((short) 0x3C02, Half.fromFloat(1f + 3 * 0x1p-11f)); // tie: to even
        assertEquals((short) 0x0400, Half.fromFloat(0x1p-14f)); // smallest normal
        assertEquals(0x1p-14f, Half.toFloat((short) 0x0400));
    }

    @Test
    void f32F16Bf16AreOneValuePerBlock() {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) 0x3C00).putShort(2, (short) 0x7BFF);
        float[] out = new float[2];
        GgufType.F16.dequantize(b, 0, out, 0, 2);
        assertValue(1f, out[0], "f16 1.0");
        assertValue(65504f, out[1], "f16 max");
        b.putShort(0, (short) 0x3F80).putShort(2, (short) 0xC0A0);
        GgufType.BF16.dequantize(b, 0, out, 0, 2);
        assertValue(1f, out[0], "bf16 1.0");
        assertValue(-5f, out[1], "bf16 -5.0");
        b.putFloat(0, 0.1f);
        GgufType.F32.dequantize(b, 0, out, 0, 1);
        assertValue(0.1f, out[0], "f32");
    }

    @Test
    void q8_0IsSignedBytesTimesHalfScale() {
        ByteBuffer b = block(GgufType.Q8_0);
        b.putShort(0, (short) 0x3800); // d = 0.5
        b.put(2, (byte) 1).put(3, (byte) -2).put(4, (byte) 127).put(5, (byte) -128);
        float[] y = dequantize(GgufType.Q8_0, b);
        assertValue(0.5f, y[0], "q 1");
        assertValue(-1f, y[1], "q -2");
        assertValue(63.5f, y[2], "q 127");
        assertValue(-64f, y[3], "q -128");
        assertValue(0f, y[31], "q 0");
    }

    @Test
    void q4_0LowNibblesAreTheFirstHalfHighNibblesTheSecond() {
        ByteBuffer b = block(GgufType.Q4_0);
        b.putShort(0, (short) 0x4000); // d = 2
        b.put(2, (byte) 0x9F); // low 15 -> (15-8)*2 = 14 at 0; high 9 -> 2 at 16
        b.put(3, (byte) 0x08); // low 8 -> 0 at 1; high 0 -> -16 at 17
        float[] y = dequantize(GgufType.Q4_0, b);
        assertValue(14f, y[0], "value 0");
        assertValue(2f, y[16], "value 16");
        assertValue(0f, y[1], "value 1");
        assertValue(-16f, y[17], "value 17");
        assertValue(-16f, y[15], "value 15 (code 0)");
    }

    @Test
    void q4_1AddsTheMinimum() {
        ByteBuffer b = block(GgufType.Q4_1);
        b.putShort(0, (short) 0x3C00).putShort(2, (short) 0xBC00); // d = 1, m = -1
        b.put(4, (byte) 0x3A); // low 10 -> 9 at 0; high 3 -> 2 at 16
        float[] y = dequantize(GgufType.Q4_1, b);
        assertValue(9f, y[0], "value 0");
        assertValue(2f, y[16], "value 16");
        assertValue(-1f, y[5], "code 0 is m");
    }

    /** Scales shared by the Q4_K and Q5_K cases: 6-bit scales and mins, packed as get_scale_min_k4 reads them. */
    private static void putKScales(ByteBuffer b) {
        b.putShort(0, (short) 0x3C00); // d = 1
        b.putShort(2, (short) 0x3800); // dmin = 0.5
        int s = 4;
        b.put(s, (byte) 0x43); // sub-block 0 scale 3; top bits 01 -> sub-block 4 scale += 16
        b.put(s + 1, (byte) 2); // sub-block 1 scale 2
        b.put(s + 2, (byte) 1); // sub-block 2 scale 1
        b.put(s + 4, (byte) 0x85); // sub-block 0 min 5; top bits 10 -> sub-block 4 min += 32
        b.put(s + 5, (byte) 4); // sub-block 1 min 4
        b.put(s + 8, (byte) 0x21); // sub-block 4: scale low bits 1, min low bits 2 -> scale 17, min 34
    }

    @Test
    void q4_kUnpacksSixBitScalesAndMins() {
        ByteBuffer b = block(GgufType.Q4_K);
        putKScales(b);
        int qs = 16;
        b.put(qs, (byte) 0x27); // value 0: 3*7 - 0.5*5 = 18.5; value 32 (sub-block 1): 2*2 - 0.5*4 = 2
        b.put(qs + 64, (byte) 0x0A); // value 128 (sub-block 4): 17*10 - 0.5*34 = 153
        float[] y = dequantize(GgufType.Q4_K, b);
        assertValue(18.5f, y[0], "sub-block 0");
        assertValue(-2.5f, y[1], "sub-block 0, code 0");
        assertValue(2f, y[32], "sub-block 1");
        assertValue(-2f, y[33], "sub-block 1, code 0");
        assertValue(153f, y[128], "sub-block 4");
        assertValue(-17f, y[129], "sub-block 4, code 0");
        assertValue(0f, y[64], "sub-block 2, code 0, min 0");
    }

    @Test
    void q5_kAddsSixteenForItsHighBit() {
        ByteBuffer b = block(GgufType.Q5_K);
        putKScales(b);
        int qh = 16;
        int ql = 48;
        b.put(qh, (byte) 0b101); // bit 0: value 0 of sub-block 0; bit 2: value 0 of sub-block 2
        b.put(ql, (byte) 0x27);
        b.put(ql + 32, (byte) 0x05);
        float[] y = dequantize(GgufType.Q5_K, b);
        assertValue(66.5f, y[0], "3 * (7 + 16) - 2.5");
        assertValue(2f, y[32], "2 * 2 - 2 (no high bit)");
        assertValue(21f, y[64], "1 * (5 + 16) - 0");
        assertValue(0f, y[65], "sub-block 2, code 0");
        assertValue(-17f, y[128], "sub-block 4, code 0");
    }

    @Test
    void q6_kCombinesFourLowAndTwoHighBitsMinus32() {
        ByteBuffer b = block(GgufType.Q6_K);
        int qh = 128;
        int sc = 192;
        b.putShort(208, (short) 0x3800); // d = 0.5
        b.put(sc, (byte) -2).put(sc + 4, (byte) 3).put(sc + 8, (byte) 1).put(sc + 1, (byte) 1);
        b.put(0, (byte) 0x5A);
        b.put(qh, (byte) 0x23); // bits 0-1: 3 (value 0), bits 4-5: 2 (value 64)
        b.put(64, (byte) 0x01); // second half, value 128
        float[] y = dequantize(GgufType.Q6_K, b);
        assertValue(-26f, y[0], "0.5 * -2 * ((10 | 3 << 4) - 32)");
        assertValue(7.5f, y[64], "0.5 * 3 * ((5 | 2 << 4) - 32)");
        assertValue(0f, y[32], "scale 0");
        assertValue(-16f, y[16], "0.5 * 1 * (0 - 32): values 16-31 take the second scale");
        assertValue(-15.5f, y[128], "0.5 * 1 * (1 - 32)");
    }

    @Test
    void q4_0QuantizerCodesIntegersExactly() {
        float[] x = new float[32];
        for (int j = 0; j < 16; j++) {
            x[j] = j - 8; // -8..7: -8 has the largest magnitude, so d = -8 / -8 = 1
            x[j + 16] = 7 - j;
        }
        ByteBuffer b = block(GgufType.Q4_0);
        GgufType.Q4_0.quantize(x, 0, 32, b, 0);
        assertEquals((short) 0x3C00, b.getShort(0));
        for (int j = 0; j < 16; j++) {
            assertEquals((byte) (j | (15 - j) << 4), b.get(2 + j), "byte " + j);
        }
        float[] y = dequantize(GgufType.Q4_0, b);
        for (int j = 0; j < 32; j++) {
            assertValue(x[j], y[j], "value " + j);
        }
    }

    @Test
    void q8_0QuantizerRoundsHalfAwayFromZeroWithHalfScale() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = (j - 16) * 0.5f; // max |x| = 8 at j = 0: d = 8/127, 1/d = 15.875
        }
        ByteBuffer b = block(GgufType.Q8_0);
        GgufType.Q8_0.quantize(x, 0, 32, b, 0);
        // 8/127 = 0.0629921: 2^-4 * (1 + 8.06/1024) -> half 0x2C08
        assertEquals((short) 0x2C08, b.getShort(0));
        assertEquals(-127, b.get(2));
        assertEquals(-119, b.get(3)); // -7.5 * 15.875 = -119.06
        assertEquals(0, b.get(2 + 16));
        assertEquals(8, b.get(2 + 17)); // 0.5 * 15.875 = 7.94
        assertEquals(119, b.get(2 + 31));
        float[] y = dequantize(GgufType.Q8_0, b);
        float d = Half.toFloat((short) 0x2C08);
        for (int j = 0; j < 32; j++) {
            assertTrue(Math.abs(y[j] - x[j]) <= d / 2 + 8 * 0x1p-11f, "value " + j + ": " + y[j] + " vs " + x[j]);
        }
    }

    @Test
    void kQuantsAreReadOnly() {
        assertThrows(UnsupportedOperationException.class,
                () -> GgufType.Q4_K.quantize(new float[256], 0, 256, block(GgufType.Q4_K), 0));
    }

    @Test
    void unknownTypeIsNamedInTheError() {
        GgufException e = assertThrows(GgufException.class, () -> GgufType.ofId(11, "Tensor 'x' in f.gguf"));
        assertTrue(e.getMessage().contains("Q3_K (ggml type 11)"), e.getMessage());
        e = assertThrows(GgufException.class, () -> GgufType.ofId(77, "Tensor 'x' in f.gguf"));
        assertTrue(e.getMessage().contains("unknown (ggml type 77)"), e.getMessage());
    }
}
