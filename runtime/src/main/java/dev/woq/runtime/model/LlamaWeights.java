package dev.woq.runtime.model;

import java.util.ArrayList;
import java.util.List;

/** Tensor names of a Hugging Face {@code LlamaForCausalLM} checkpoint. */
public final class LlamaWeights {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private LlamaWeights() {}

    /** The names of one decoder layer's tensors. */
    public record Layer(int index) {
        private String n(String suffix) {
            return "model.layers." + index + "." + suffix;
        }

        public String q() { return n("self_attn.q_proj.weight"); }

        public String k() { return n("self_attn.k_proj.weight"); }

        public String v() { return n("self_attn.v_proj.weight"); }

        public String o() { return n("self_attn.o_proj.weight"); }

        public String gate() { return n("mlp.gate_proj.weight"); }

        public String up() { return n("mlp.up_proj.weight"); }

        public String down() { return n("mlp.down_proj.weight"); }

        public String inputNorm() { return n("input_layernorm.weight"); }

        public String postAttentionNorm() { return n("post_attention_layernorm.weight"); }

        /** The seven projections, in checkpoint order. */
        public List<String> projections() {
            return List.of(q(), k(), v(), o(), gate(), up(), down());
        }
    }

    public static Layer layer(int index) {
        return new Layer(index);
    }

    /** Every tensor the config needs, with its shape, in the order Hugging Face writes them. */
    public static List<Entry> entries(LlamaConfig c) {
        List<Entry> out = new ArrayList<>();
        int h = c.hiddenSize();
        out.add(new Entry(EMBED, c.vocabSize(), h));
        for (int i = 0; i < c.numLayers(); i++) {
            Layer l = layer(i);
            out.add(new Entry(l.inputNorm(), h));
            out.add(new Entry(l.down(), h, c.intermediateSize()));
            out.add(new Entry(l.gate(), c.intermediateSize(), h));
            out.add(new Entry(l.up(), c.intermediateSize(), h));
            out.add(new Entry(l.postAttentionNorm(), h));
            out.add(new Entry(l.k(), c.kvWidth(), h));
            out.add(new Entry(l.o(), h, c.queryWidth()));
            out.add(new Entry(l.q(), c.queryWidth(), h));
            out.add(new Entry(l.v(), c.kvWidth(), h));
        }
        out.add(new Entry(NORM, h));
        if (!c.tieWordEmbeddings()) {
            out.add(new Entry(LM_HEAD, c.vocabSize(), h));
        }
        return out;
    }

    /** The names only. */
    public static List<String> names(LlamaConfig c) {
        return entries(c).stream().map(Entry::name).toList();
    }

    /** A tensor name and its shape. */
    public record Entry(String name, long... shape) {}
}
