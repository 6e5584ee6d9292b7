package dev.woq.runtime.model;

import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.quant.TensorRows;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * An independent Llama 3 forward pass in plain fp32 Java, written from the Hugging Face modeling
 * code and sharing nothing with the engine path: the yardstick for the bf16 kernels.
 */
final class ReferenceLlama {
    private final LlamaConfig c;
    private final java.util.function.Function<String, float[]> weights;

    ReferenceLlama(LlamaConfig config, SafetensorsCheckpoint checkpoint) {
        this(config, checkpoint, null);
    }

    /**
     * The reference on a checkpoint written by {@code woq quantize} with {@code recipe}: each
     * quantized projection is dequantized to fp32 (exactly {@code (q - 8) * scale + zero} or
     * {@code q * scale}), so the reference computes the quantized model, not its bf16 source.
     */
    ReferenceLlama(LlamaConfig config, SafetensorsCheckpoint checkpoint, QuantRecipe recipe) {
        this(config, name -> recipe != null && !checkpoint.contains(name)
                && checkpoint.contains(Quantizer.qweightName(name))
                ? TensorRows.dequantizeRows(checkpoint, recipe, name, 0,
                        Math.toIntExact(checkpoint.tensor(Quantizer.qweightName(name)).shape().get(0)))
                : bf16(checkpoint, name));
    }

    /** A reference whose weights come from {@code weights} (name → row-major floats), e.g. dequantized ones. */
    ReferenceLlama(LlamaConfig config, java.util.function.Function<String, float[]> weights) {
        this.c = config;
        this.weights = weights;
    }

    /** Logits [positions][vocab] for every position of {@code ids}. */
    float[][] logits(int[] ids) {
        return logits(ids, (name, x) -> {});
    }

    /** As {@link #logits(int[])}, showing {@code inputs} each projection's input [positions][in] by its weight name. */
    float[][] logits(int[] ids, java.util.function.BiConsumer<String, float[][]> inputs) {
        int t = ids.length;
        int h = c.hiddenSize();
        int d = c.headDim();
        float[] embed = read("model.embed_tokens.weight");
        float[][] x = new float[t][h];
        for (int i = 0; i < t; i++) {
            System.arraycopy(embed, ids[i] * h, x[i], 0, h);
        }
        double[] invFreq = invFreq();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            String p = "model.layers." + layer + ".";
            float[][] xn = rmsNorm(x, read(p + "input_layernorm.weight"));
            for (String proj : new String[] {"q", "k", "v"}) {
                inputs.accept(p + "self_attn." + proj + "_proj.weight", xn);
            }
            float[][] q = matmul(xn, read(p + "self_attn.q_proj.weight"), c.queryWidth());
            float[][] k = matmul(xn, read(p + "self_attn.k_proj.weight"), c.kvWidth());
            float[][] v = matmul(xn, read(p + "self_attn.v_proj.weight"), c.kvWidth());
            for (int i = 0; i < t; i++) {
                rope(q[i], c.numHeads(), i, invFreq);
                rope(k[i], c.numKvHeads(), i, invFreq);
            }
            float[][] attn = new float[t][c.queryWidth()];
            int group = c.numHeads() / c.numKvHeads();
            for (int head = 0; head < c.numHeads(); head++) {
                int kvHead = head / group;
                for (int i = 0; i < t; i++) {
                    double[] scores = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double s = 0;
                        for (int e = 0; e < d; e++) {
                            s += q[i][head * d + e] * k[j][kvHead * d + e];
                        }
                        scores[j] = s / Math.sqrt(d);
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) {
                            acc += scores[j] / sum * v[j][kvHead * d + e];
                        }
                        attn[i][head * d + e] = (float) acc;
                    }
                }
            }
            inputs.accept(p + "self_attn.o_proj.weight", attn);
            add(x, matmul(attn, read(p + "self_attn.o_proj.weight"), h));
            float[][] xn2 = rmsNorm(x, read(p + "post_attention_layernorm.weight"));
            inputs.accept(p + "mlp.gate_proj.weight", xn2);
            inputs.accept(p + "mlp.up_proj.weight", xn2);
            float[][] gate = matmul(xn2, read(p + "mlp.gate_proj.weight"), c.intermediateSize());
            float[][] up = matmul(xn2, read(p + "mlp.up_proj.weight"), c.intermediateSize());
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < c.intermediateSize(); j++) {
                    double g = gate[i][j];
                    gate[i][j] = (float) (g / (1 + Math.exp(-g)) * up[i][j]);
                }
            }
            inputs.accept(p + "mlp.down_proj.weight", gate);
            add(x, matmul(gate, read(p + "mlp.down_proj.weight"), h));
        }
        float[][] xn = rmsNorm(x, read("model.norm.weight"));
        if (!c.tieWordEmbeddings()) {
            inputs.accept("lm_head.weight", xn);
        }
        float[] head = c.tieWordEmbeddings() ? embed : read("lm_head.weight");
        return matmul(xn, head, c.vocabSize());
    }

    private double[] invFreq() {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < d / 2; i++) {
            inv[i] = Math.pow(c.ropeTheta(), -2.0 * i / d);
            LlamaConfig.RopeScaling s = c.ropeScaling();
            if (s != null) {
                double wavelen = 2 * Math.PI / inv[i];
                double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
                double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
                if (wavelen > lowWavelen) {
                    inv[i] /= s.factor();
                } else if (wavelen >= highWavelen) {
                    double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    /** Rotates pairs (e, e + d/2) of every head by position * invFreq[e]. */
    private void rope(float[] vec, int heads, int pos, double[] invFreq) {
        int d = c.headDim();
        for (int head = 0; head < heads; head++) {
            for (int e = 0; e < d / 2; e++) {
                double angle = pos * invFreq[e];
                int a = head * d + e;
                int b = a + d / 2;
                double x1 = vec[a];
                double x2 = vec[b];
                vec[a] = (float) (x1 * Math.cos(angle) - x2 * Math.sin(angle));
                vec[b] = (float) (x2 * Math.cos(angle) + x1 * Math.sin(angle));
            }
        }
    }

    private float[][] rmsNorm(float[][] x, float[] w) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ss = 0;
            for (float v : x[i]) {
                ss += v * v;
            }
            double scale = 1 / Math.sqrt(ss / x[i].length + c.rmsNormEps());
            out[i] = new float[x[i].length];
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = (float) (x[i][j] * scale * w[j]);
            }
        }
        return out;
    }

    /** x [t, in] times W^T where W is [out, in] row-major. */
    private static float[][] matmul(float[][] x, float[] w, int out) {
        int in = x[0].length;
        float[][] y = new float[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double acc = 0;
                int base = o * in;
                for (int j = 0; j < in; j++) {
                    acc += x[i][j] * w[base + j];
                }
                y[i][o] = (float) acc;
            }
        }
        return y;
    }

    private static void add(float[][] x, float[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }

    private float[] read(String name) {
        return weights.apply(name);
    }

    /** A bf16 tensor of {@code ckpt} as floats. */
    static float[] bf16(SafetensorsCheckpoint ckpt, String name) {
        TensorInfo info = ckpt.tensor(name);
        if (info.dtype() != SafetensorsDtype.BF16) {
            throw new IllegalStateException("reference reads bf16 only: " + name);
        }
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(info.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(info.file(), StandardOpenOption.READ)) {
            long pos = info.fileOffset();
            while (buf.hasRemaining()) {
                pos += ch.read(buf, pos);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        buf.flip();
        float[] out = new float[buf.remaining() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat((buf.getShort() & 0xFFFF) << 16);
        }
        return out;
    }
}
