package dev.woq.runtime.gguf;

import dev.woq.runtime.model.LlamaWeights;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Llama's tensor names both ways between Hugging Face ({@code model.layers.0.self_attn.q_proj.weight})
 * and GGUF ({@code blk.0.attn_q.weight}), as llama.cpp's {@code gguf-py/gguf/tensor_mapping.py} maps
 * them, and the row order of Q and K.
 *
 * <p>Hugging Face's Llama applies rotary embeddings to the two halves of each head ({@code
 * rotate_half}); llama.cpp rotates adjacent pairs. Its converter therefore permutes the rows of
 * {@code q_proj} and {@code k_proj} within each head: GGUF row {@code h*d + 2i + j} is Hugging Face
 * row {@code h*d + j*d/2 + i} (head h of width d, i &lt; d/2, j in {0, 1}), which is what {@code
 * permute(weights, n_head, n_head_kv)} in {@code convert_hf_to_gguf.py} computes.
 */
public final class LlamaTensorNames {
    /** Llama 3.1's frequency factors, one per rotary pair; no Hugging Face counterpart. */
    public static final String ROPE_FREQS = "rope_freqs.weight";

    private static final Map<String, String> GLOBAL = Map.of(
            LlamaWeights.EMBED, "token_embd.weight",
            LlamaWeights.NORM, "output_norm.weight",
            LlamaWeights.LM_HEAD, "output.weight");
    private static final Map<String, String> LAYER = Map.of(
            "self_attn.q_proj.weight", "attn_q.weight",
            "self_attn.k_proj.weight", "attn_k.weight",
            "self_attn.v_proj.weight", "attn_v.weight",
            "self_attn.o_proj.weight", "attn_output.weight",
            "mlp.gate_proj.weight", "ffn_gate.weight",
            "mlp.up_proj.weight", "ffn_up.weight",
            "mlp.down_proj.weight", "ffn_down.weight",
            "input_layernorm.weight", "attn_norm.weight",
            "post_attention_layernorm.weight", "ffn_norm.weight");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");

    private LlamaTensorNames() {}

    /** The GGUF name of a Hugging Face Llama tensor. */
    public static String toGguf(String hf) {
        String g = GLOBAL.get(hf);
        if (g != null) {
            return g;
        }
        Matcher m = HF_LAYER.matcher(hf);
        if (m.matches() && LAYER.containsKey(m.group(2))) {
            return "blk." + m.group(1) + "." + LAYER.get(m.group(2));
        }
        throw new GgufException("Tensor '" + hf + "' is not part of a Llama checkpoint woq exports.");
    }

    /**
     * The Hugging Face name of a GGUF Llama tensor.
     *
     * @throws GgufException naming the tensor when it has no Llama counterpart (a bias, another
     *     architecture's tensor)
     */
    public static String toHf(String gguf) {
        for (Map.Entry<String, String> e : GLOBAL.entrySet()) {
            if (e.getValue().equals(gguf)) {
                return e.getKey();
            }
        }
        Matcher m = GGUF_LAYER.matcher(gguf);
        if (m.matches()) {
            for (Map.Entry<String, String> e : LAYER.entrySet()) {
                if (e.getValue().equals(m.group(2))) {
                    return "model.layers." + m.group(1) + "." + e.getKey();
                }
            }
        }
        throw new GgufException("GGUF tensor '" + gguf + "' has no place in the Llama model woq runs (no biases,"
                + " no extra tensors): the file is not a plain Llama.");
    }

    /** Whether the rows of this Hugging Face tensor are permuted in GGUF (q_proj and k_proj). */
    public static boolean permuted(String hf) {
        return hf.endsWith("self_attn.q_proj.weight") || hf.endsWith("self_attn.k_proj.weight");
    }

    /**
     * The Hugging Face row that GGUF row {@code row} holds, for a Q or K matrix with heads of
     * {@code headDim} rows.
     */
    public static int hfRowOfGgufRow(int row, int headDim) {
        int head = row / headDim;
        int within = row % headDim;
        return head * headDim + (within % 2) * (headDim / 2) + within / 2;
    }

    /** The GGUF row that holds Hugging Face row {@code row}: the inverse of {@link #hfRowOfGgufRow}. */
    public static int ggufRowOfHfRow(int row, int headDim) {
        int head = row / headDim;
        int within = row % headDim;
        int half = headDim / 2;
        return head * headDim + 2 * (within % half) + within / half;
    }
}
