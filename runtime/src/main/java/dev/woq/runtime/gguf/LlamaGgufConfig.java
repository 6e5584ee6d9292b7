package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.*;

import dev.woq.runtime.model.LlamaConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link LlamaConfig} as GGUF's {@code llama.*} metadata, both ways, with Llama 3.1's rope
 * scaling as the {@code rope_freqs} tensor that llama.cpp's converter writes.
 */
public final class LlamaGgufConfig {
    /** The architecture woq runs. */
    public static final String ARCH = "llama";

    private LlamaGgufConfig() {}

    /** The hyperparameter keys for {@code c}, as {@code convert_hf_to_gguf.py} writes them. */
    public static Map<String, GgufValue> hyperparameters(LlamaConfig c) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(ARCH + CONTEXT_LENGTH, GgufValue.uint32(c.maxPositionEmbeddings()));
        m.put(ARCH + EMBEDDING_LENGTH, GgufValue.uint32(c.hiddenSize()));
        m.put(ARCH + BLOCK_COUNT, GgufValue.uint32(c.numLayers()));
        m.put(ARCH + FEED_FORWARD_LENGTH, GgufValue.uint32(c.intermediateSize()));
        m.put(ARCH + HEAD_COUNT, GgufValue.uint32(c.numHeads()));
        m.put(ARCH + HEAD_COUNT_KV, GgufValue.uint32(c.numKvHeads()));
        m.put(ARCH + ROPE_FREQ_BASE, GgufValue.float32(c.ropeTheta()));
        m.put(ARCH + RMS_EPS, GgufValue.float32(c.rmsNormEps()));
        if (c.headDim() != c.hiddenSize() / c.numHeads()) {
            m.put(ARCH + KEY_LENGTH, GgufValue.uint32(c.headDim()));
            m.put(ARCH + VALUE_LENGTH, GgufValue.uint32(c.headDim()));
        }
        m.put(ARCH + VOCAB_SIZE, GgufValue.uint32(c.vocabSize()));
        m.put(ARCH + ROPE_DIMENSION_COUNT, GgufValue.uint32(c.headDim()));
        return m;
    }

    /**
     * Llama 3.1's per-pair frequency factors ({@code rope_freqs}), as the converter computes them:
     * 1 for short wavelengths, {@code factor} for long ones, a smooth blend in between.
     */
    public static float[] ropeFreqs(LlamaConfig c) {
        LlamaConfig.RopeScaling rs = c.ropeScaling();
        int pairs = c.headDim() / 2;
        float[] out = new float[pairs];
        double lowWavelen = rs.originalMaxPositionEmbeddings() / rs.lowFreqFactor();
        double highWavelen = rs.originalMaxPositionEmbeddings() / rs.highFreqFactor();
        for (int i = 0; i < pairs; i++) {
            // as torch: 1 / base ** (arange(0, dim, 2, float32) / dim)
            float freq = (float) (1.0 / Math.pow(c.ropeTheta(), (float) (2 * i) / c.headDim()));
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                out[i] = 1f;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) rs.factor();
            } else {
                double smooth = (rs.originalMaxPositionEmbeddings() / wavelen - rs.lowFreqFactor())
                        / (rs.highFreqFactor() - rs.lowFreqFactor());
                out[i] = (float) (1 / ((1 - smooth) / rs.factor() + smooth));
            }
        }
        return out;
    }

    /**
     * The config of a GGUF Llama.
     *
     * @throws GgufException for another architecture (named), a missing key, or rope scaling woq
     *     does not run
     */
    public static LlamaConfig read(GgufReader r) {
        String arch = r.requireString(ARCHITECTURE);
        if (!arch.equals(ARCH)) {
            throw new GgufException(r.path() + " holds a '" + arch + "' model; woq runs the 'llama' architecture only"
                    + " (Llama 2, Llama 3, 3.1, 3.2).");
        }
        int hidden = (int) r.requireLong(ARCH + EMBEDDING_LENGTH);
        int heads = (int) r.requireLong(ARCH + HEAD_COUNT);
        int kvHeads = (int) longOr(r, ARCH + HEAD_COUNT_KV, heads);
        int headDim = (int) longOr(r, ARCH + KEY_LENGTH, longOr(r, ARCH + ROPE_DIMENSION_COUNT, hidden / heads));
        GgufTensorInfo embed = r.tensor("token_embd.weight").orElseThrow(() -> new GgufException(
                r.path() + " has no token_embd.weight tensor: it is not a complete Llama model."));
        int vocab = (int) embed.dims()[1];
        double theta = r.value(ARCH + ROPE_FREQ_BASE).map(GgufValue::asDouble).orElse(10000.0);
        r.value(ARCH + ROPE_SCALING_TYPE).map(GgufValue::value).filter(t -> !t.equals("none")).ifPresent(t -> {
            throw new GgufException(r.path() + " uses rope scaling '" + t + "', which woq does not run (it runs Llama"
                    + " 3.1's, stored as the rope_freqs tensor).");
        });
        int context = (int) longOr(r, ARCH + CONTEXT_LENGTH, 4096);
        LlamaConfig.RopeScaling scaling = null;
        if (r.tensor(LlamaTensorNames.ROPE_FREQS).isPresent()) {
            scaling = fitRopeScaling(r, theta, headDim, (int) longOr(r, ARCH + ROPE_SCALING_ORIG_CTX, 8192));
        }
        List<Integer> eos = new ArrayList<>();
        r.value(EOS_ID).ifPresent(v -> eos.add((int) v.asLong()));
        r.value(EOT_ID).map(v -> (int) v.asLong()).filter(v -> !eos.contains(v)).ifPresent(eos::add);
        return new LlamaConfig(
                hidden, heads, kvHeads, headDim,
                (int) r.requireLong(ARCH + FEED_FORWARD_LENGTH),
                (int) r.requireLong(ARCH + BLOCK_COUNT),
                r.value(ARCH + RMS_EPS).map(v -> shortest(v.asDouble())).orElse(1e-5),
                shortest(theta),
                scaling, vocab, context,
                r.tensor("output.weight").isEmpty(),
                (int) longOr(r, BOS_ID, 1),
                eos,
                "bfloat16");
    }

    /**
     * Llama 3.1's scaling that gives the file's {@code rope_freqs}: every Llama 3.1/3.2 release uses
     * low and high frequency factors 1 and 4 over an original context of 8192, only {@code factor}
     * differs (8 or 32), and it is the largest of the factors. Anything else is refused rather than
     * run with the wrong frequencies.
     */
    private static LlamaConfig.RopeScaling fitRopeScaling(GgufReader r, double theta, int headDim, int originalContext) {
        GgufTensorInfo t = r.tensor(LlamaTensorNames.ROPE_FREQS).orElseThrow();
        float[] f = GgufReader.dequantizeRows(t, r.data(t), 0, (int) t.rows());
        float factor = 0;
        for (float v : f) {
            factor = Math.max(factor, v);
        }
        LlamaConfig probe = new LlamaConfig(headDim, 1, 1, headDim, 1, 1, 1e-5, theta,
                new LlamaConfig.RopeScaling(factor, 1.0, 4.0, originalContext), 1, originalContext, false, 0,
                List.of(), "bfloat16");
        float[] expected = ropeFreqs(probe);
        for (int i = 0; i < f.length; i++) {
            if (f.length != expected.length || Math.abs(f[i] - expected[i]) > 1e-3 * expected[i]) {
                throw new GgufException(r.path() + ": its rope_freqs tensor is not Llama 3.1's scaling (factor " + factor
                        + ", low 1, high 4, original context " + originalContext + "): pair " + i + " has " + f[i]
                        + ", expected " + (i < expected.length ? expected[i] : "none") + ". woq runs Llama 3.1's scaling only.");
            }
        }
        return probe.ropeScaling();
    }

    /** A float32 key as the decimal a config.json holds: 1e-5 rather than 9.99999974738e-06. */
    private static double shortest(double float32) {
        return Double.parseDouble(Float.toString((float) float32));
    }

    private static long longOr(GgufReader r, String key, long dflt) {
        return r.value(key).map(GgufValue::asLong).orElse(dflt);
    }
}
