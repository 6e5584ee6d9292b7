package dev.woq.runtime.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.nio.FloatBuffer;

/**
 * RoPE tables in Hugging Face's layout (the two halves of a head rotate together), with Llama 3.1's
 * frequency scaling when the config asks for it. cos and sin are fp32 [maxPositions, headDim],
 * computed once; attention slices the rows of the positions it needs.
 */
public final class RotaryEmbedding implements AutoCloseable {
    private final PtNDArray cos;
    private final PtNDArray sin;

    public RotaryEmbedding(PtNDManager manager, LlamaConfig config) {
        int dim = config.headDim();
        int positions = config.maxPositionEmbeddings();
        double[] invFreq = inverseFrequencies(config);
        FloatBuffer c = FloatBuffer.allocate(positions * dim);
        FloatBuffer s = FloatBuffer.allocate(positions * dim);
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < dim; i++) {
                // emb = cat(freqs, freqs): column i uses frequency i mod dim/2; fp32 as HF computes it.
                float angle = (float) p * (float) invFreq[i % (dim / 2)];
                c.put((float) Math.cos(angle));
                s.put((float) Math.sin(angle));
            }
        }
        c.flip();
        s.flip();
        Shape shape = new Shape(positions, dim);
        this.cos = (PtNDArray) manager.create(c, shape, DataType.FLOAT32);
        this.sin = (PtNDArray) manager.create(s, shape, DataType.FLOAT32);
    }

    /** {@code 1 / theta^(2i/d)}, rescaled as {@code rope_type: llama3} prescribes. */
    public static double[] inverseFrequencies(LlamaConfig config) {
        int dim = config.headDim();
        double[] inv = new double[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / dim));
        }
        LlamaConfig.RopeScaling rs = config.ropeScaling();
        if (rs == null) {
            return inv;
        }
        double oldContext = rs.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContext / rs.lowFreqFactor();
        double highFreqWavelen = oldContext / rs.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / rs.factor(); // low frequencies: stretched by the full factor
            } else if (wavelen >= highFreqWavelen) {
                // the band between: interpolate smoothly between scaled and unscaled
                double smooth = (oldContext / wavelen - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                inv[i] = (1 - smooth) * inv[i] / rs.factor() + smooth * inv[i];
            }
        }
        return inv;
    }

    /** [maxPositions, headDim] fp32. */
    public PtNDArray cos() {
        return cos;
    }

    /** [maxPositions, headDim] fp32. */
    public PtNDArray sin() {
        return sin;
    }

    @Override
    public void close() {
        cos.close();
        sin.close();
    }
}
