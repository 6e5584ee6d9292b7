package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.Kernels;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Llama 3 for causal LM: embedding, decoder layers, final norm, LM head, computing in bf16.
 * Weights are mapped from the checkpoint; {@link #newSession} gives a sequence with its own KV
 * cache.
 */
public final class LlamaModel extends KernelBlock implements AutoCloseable {
    private final LlamaConfig config;
    private final PtNDManager manager;
    private final Embedding embedding;
    private final List<DecoderLayer> layers;
    private final RmsNorm norm;
    private final Linear lmHead;
    private final RotaryEmbedding rope;
    private final long weightBytesPerToken;

    private LlamaModel(
            Kernels kernels, LlamaConfig config, PtNDManager manager, Embedding embedding,
            List<DecoderLayer> layers, RmsNorm norm, Linear lmHead, RotaryEmbedding rope) {
        super(kernels);
        this.config = config;
        this.manager = manager;
        this.embedding = addChildBlock("embed_tokens", embedding);
        this.layers = layers;
        for (int i = 0; i < layers.size(); i++) {
            addChildBlock("layers." + i, layers.get(i));
        }
        this.norm = addChildBlock("norm", norm);
        this.lmHead = lmHead;
        addChildBlock("lm_head", (KernelBlock) lmHead);
        this.rope = rope;
        long bytes = lmHead.weightBytes();
        for (DecoderLayer layer : layers) {
            bytes += layer.weightBytes();
        }
        this.weightBytesPerToken = bytes;
    }

    /**
     * Loads a model directory: a Hugging Face checkpoint (config.json + bf16/F16/F32 safetensors)
     * or one written by {@code woq quantize} (int4/int8 projections in woq's layout).
     */
    public static LlamaModel load(TorchRuntime runtime, Path dir) {
        return load(runtime, dir, runtime.natives());
    }

    /** As {@link #load(TorchRuntime, Path)}, on the given kernels ({@link NativeKernels#none()}: libtorch's only). */
    static LlamaModel load(TorchRuntime runtime, Path dir, NativeKernels natives) {
        LlamaConfig config = LlamaConfig.load(dir);
        SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
        Kernels k = runtime.kernels();
        PtNDManager manager = (PtNDManager) runtime.manager().newSubManager();
        try (MappedWeights weights = new MappedWeights(k, manager, checkpoint)) {
            checkpoint.requireAll(LlamaWeights.names(config).stream()
                    .map(name -> LinearLoader.storedName(weights, name)).toList());
            LinearLoader linears = new LinearLoader(k, natives, manager, weights);
            int h = config.hiddenSize();
            Embedding embedding = new Embedding(k, weights.bf16(LlamaWeights.EMBED, config.vocabSize(), h));
            RotaryEmbedding rope = new RotaryEmbedding(manager, config);
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < config.numLayers(); i++) {
                LlamaWeights.Layer n = LlamaWeights.layer(i);
                Attention attention = new Attention(
                        k, config, i,
                        linears.load(n.q(), config.queryWidth(), h),
                        linears.load(n.k(), config.kvWidth(), h),
                        linears.load(n.v(), config.kvWidth(), h),
                        linears.load(n.o(), h, config.queryWidth()),
                        rope);
                Mlp mlp = new Mlp(
                        k,
                        linears.load(n.gate(), config.intermediateSize(), h),
                        linears.load(n.up(), config.intermediateSize(), h),
                        linears.load(n.down(), h, config.intermediateSize()));
                layers.add(new DecoderLayer(
                        k,
                        new RmsNorm(k, weights.bf16(n.inputNorm(), h), config.rmsNormEps()),
                        attention,
                        new RmsNorm(k, weights.bf16(n.postAttentionNorm(), h), config.rmsNormEps()),
                        mlp));
            }
            RmsNorm norm = new RmsNorm(k, weights.bf16(LlamaWeights.NORM, h), config.rmsNormEps());
            Linear lmHead = config.tieWordEmbeddings()
                    ? new Bf16Linear(k, natives.kernels(), embedding.table(), config.vocabSize(), h)
                    : linears.load(LlamaWeights.LM_HEAD, config.vocabSize(), h);
            linears.finish();
            return new LlamaModel(k, config, manager, embedding, layers, norm, lmHead, rope);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    /**
     * The weight format, e.g. {@code bf16}, {@code int8}, or {@code int4-g128 (LM head int8)}
     * when the LM head differs from the layers.
     */
    public String weightFormat() {
        String projections = layers.get(0).projectionFormat();
        String head = lmHead.format();
        return head.equals(projections) ? projections : projections + " (LM head " + head + ")";
    }

    /** Bytes of weights one decode step reads: every projection and the LM head. */
    public long weightBytesPerToken() {
        return weightBytesPerToken;
    }

    /** A new sequence whose KV cache holds up to {@code capacity} positions. */
    public InferenceSession newSession(int capacity) {
        if (capacity < 1 || capacity > config.maxPositionEmbeddings()) {
            throw new WoqException(
                    "A session needs 1.." + config.maxPositionEmbeddings() + " positions (the context length), got " + capacity);
        }
        return new InferenceSession(this, new KvCache(kernels, manager, config, capacity));
    }

    /**
     * Runs {@code ids} at positions {@code position..} through the model, writing their keys and
     * values to {@code cache}, and returns the fp32 logits of the last one.
     */
    float[] step(int[] ids, KvCache cache, int position) {
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            long[] longIds = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                longIds[i] = ids[i];
            }
            PtNDArray x = embedding.apply(scope, (PtNDArray) scope.create(longIds)); // [T, hidden]
            for (DecoderLayer layer : layers) {
                layer.apply(scope, x, cache, position);
            }
            // Only the last position's logits are needed: [1, hidden] → [1, vocab].
            PtNDArray last = kernels.call(scope, "last_row_logits", x);
            PtNDArray logits = lmHead.apply(scope, norm.apply(scope, last));
            return kernels.call(scope, "to_float", logits).toFloatArray();
        }
    }

    /**
     * Continuous batching's step: appends one token to each session ({@code ids[b]} to
     * {@code sessions.get(b)}) in one forward pass and returns each one's next-token logits. Every
     * projection and the LM head run once on a [B, hidden] matrix, so the weights are read once
     * for the whole batch; attention runs per sequence against its own cache and length.
     */
    public float[][] decode(List<InferenceSession> sessions, int[] ids) {
        int batch = sessions.size();
        if (batch == 0 || ids.length != batch) {
            throw new IllegalArgumentException(batch + " sessions but " + ids.length + " token ids");
        }
        KvCache[] caches = new KvCache[batch];
        long[] positions = new long[batch];
        long[] longIds = new long[batch];
        for (int b = 0; b < batch; b++) {
            InferenceSession session = sessions.get(b);
            if (session.model() != this) {
                throw new IllegalArgumentException("session " + b + " belongs to another model");
            }
            session.ensureRoom(1);
            caches[b] = session.cache();
            positions[b] = session.position();
            longIds[b] = ids[b];
        }
        if (batch == 1) {
            // One sequence: the single-sequence step, without the batched attention's per-sequence
            // loop or a copy of the logits, so one stream decodes as fast as the bench loop.
            InferenceSession session = sessions.get(0);
            float[] logits = step(new int[] {ids[0]}, caches[0], (int) positions[0]);
            session.advance();
            return new float[][] {logits};
        }
        int vocab = config.vocabSize();
        float[] flat;
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            PtNDArray x = embedding.apply(scope, (PtNDArray) scope.create(longIds)); // [B, hidden]
            for (DecoderLayer layer : layers) {
                layer.applyBatch(scope, x, caches, positions);
            }
            PtNDArray logits = lmHead.apply(scope, norm.apply(scope, x)); // [B, vocab]
            flat = kernels.call(scope, "to_float", logits).toFloatArray();
        }
        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
            sessions.get(b).advance();
        }
        return out;
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        throw new UnsupportedOperationException("use newSession(capacity).prefill(ids) and decode(id)");
    }

    @Override
    public void close() {
        rope.close();
        manager.close();
    }
}
