package dev.woq.runtime.synth;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Fills buffers with bf16 samples of N(mean, std) fast enough to write a 16 GB checkpoint at disk
 * speed: 65,536 normal samples are drawn once, then each value is a table lookup by 16 random
 * bits. Blocks are filled in parallel, each from its own seed, so the bytes depend only on the
 * seed and the position, never on the thread count.
 */
final class RandomBf16 {
    static final int BLOCK_VALUES = 1 << 18; // 512 KiB of bf16 per independently seeded block
    private final short[] table = new short[1 << 16];
    private final long seed;

    RandomBf16(long seed, double mean, double std) {
        this.seed = seed;
        SplittableRandom random = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
        for (int i = 0; i < table.length; i++) {
            table[i] = toBf16((float) (mean + std * random.nextGaussian()));
        }
    }

    /** bf16 of f, rounded to nearest even. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * Fills {@code out} (little-endian, from position 0 to its limit) with the values of block
     * numbers {@code firstBlock, firstBlock+1, ...} of stream {@code stream}.
     */
    void fill(ByteBuffer out, long stream, long firstBlock) {
        ByteBuffer buf = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int values = buf.limit() / 2;
        int blocks = (values + BLOCK_VALUES - 1) / BLOCK_VALUES;
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int from = b * BLOCK_VALUES;
            int to = Math.min(values, from + BLOCK_VALUES);
            SplittableRandom random = new SplittableRandom(mix(seed, stream, firstBlock + b));
            int i = from;
            while (i < to) {
                long r = random.nextLong();
                for (int j = 0; j < 4 && i < to; j++, i++) {
                    buf.putShort(2 * i, table[(int) (r & 0xFFFF)]);
                    r >>>= 16;
                }
            }
        });
    }

    /** A 64-bit hash of (seed, stream, block): the seed of one independently drawn block. */
    static long mix(long seed, long stream, long block) {
        long h = seed * 0x9E3779B97F4A7C15L + stream * 0xC2B2AE3D27D4EB4FL + block * 0x165667B19E3779F9L;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        return h ^ (h >>> 33);
    }
}
