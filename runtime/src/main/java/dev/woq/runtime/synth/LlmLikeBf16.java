package dev.woq.runtime.synth;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Fills one matrix [rows, cols] of bf16 with {@link SyntheticWeights#LLM_LIKE} values: Student-t
 * samples (a table of 65,536 drawn once, looked up by 16 random bits, as {@link RandomBf16}) times
 * the matrix's std, times the gain of the value's column. Blocks are seeded by position, so the
 * bytes depend only on the seed, never on the thread count.
 */
final class LlmLikeBf16 {
    static final int DEGREES_OF_FREEDOM = 5;
    static final double SCALE_SPREAD = 0.3;
    static final float MIN_OUTLIER_GAIN = 6f;
    static final float MAX_OUTLIER_GAIN = 16f;
    /** One outlier column per this many input columns, at least two a matrix. */
    static final int COLUMNS_PER_OUTLIER = 256;

    private final float[] table = new float[1 << 16]; // unit-variance Student-t samples
    private final long seed;

    LlmLikeBf16(long seed) {
        this.seed = seed;
        SplittableRandom random = new SplittableRandom(seed ^ 0x5851F42D4C957F2DL);
        double unit = Math.sqrt((DEGREES_OF_FREEDOM - 2.0) / DEGREES_OF_FREEDOM);
        for (int i = 0; i < table.length; i++) {
            double chi2 = 0;
            for (int d = 0; d < DEGREES_OF_FREEDOM; d++) {
                double g = random.nextGaussian();
                chi2 += g * g;
            }
            table[i] = (float) (random.nextGaussian() / Math.sqrt(chi2 / DEGREES_OF_FREEDOM) * unit);
        }
    }

    /** The per-matrix parameters of matrix {@code stream} with {@code cols} input columns. */
    Matrix matrix(long stream, int cols, double std) {
        SplittableRandom random = new SplittableRandom(RandomBf16.mix(seed, stream, -1));
        float scale = (float) (std * Math.exp(SCALE_SPREAD * random.nextGaussian()));
        float[] gains = new float[cols];
        java.util.Arrays.fill(gains, 1f);
        int outliers = Math.min(cols, Math.max(2, cols / COLUMNS_PER_OUTLIER));
        for (int placed = 0; placed < outliers; ) {
            int c = random.nextInt(cols);
            if (gains[c] == 1f) {
                gains[c] = MIN_OUTLIER_GAIN + (MAX_OUTLIER_GAIN - MIN_OUTLIER_GAIN) * (float) random.nextDouble();
                placed++;
            }
        }
        return new Matrix(stream, scale, gains);
    }

    /**
     * The parameters of one matrix.
     *
     * @param scale its std (the base std times its log-normal factor)
     * @param gains per input column: 1, or the outlier gain
     */
    record Matrix(long stream, float scale, float[] gains) {}

    /**
     * Fills {@code out} (little-endian, from position 0 to its limit) with values {@code firstValue..}
     * of the row-major matrix; {@code firstValue} is a multiple of {@link RandomBf16#BLOCK_VALUES}.
     */
    void fill(ByteBuffer out, Matrix m, long firstValue) {
        ByteBuffer buf = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int values = buf.limit() / 2;
        int cols = m.gains().length;
        long firstBlock = firstValue / RandomBf16.BLOCK_VALUES;
        int blocks = (values + RandomBf16.BLOCK_VALUES - 1) / RandomBf16.BLOCK_VALUES;
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int from = b * RandomBf16.BLOCK_VALUES;
            int to = Math.min(values, from + RandomBf16.BLOCK_VALUES);
            SplittableRandom random = new SplittableRandom(RandomBf16.mix(seed, m.stream(), firstBlock + b));
            int col = (int) ((firstValue + from) % cols);
            int i = from;
            while (i < to) {
                long r = random.nextLong();
                for (int j = 0; j < 4 && i < to; j++, i++) {
                    float v = table[(int) (r & 0xFFFF)] * m.scale() * m.gains()[col];
                    buf.putShort(2 * i, RandomBf16.toBf16(v));
                    r >>>= 16;
                    if (++col == cols) {
                        col = 0;
                    }
                }
            }
        });
    }
}
