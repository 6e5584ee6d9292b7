package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Llama for causal LM, computing in bf16 on weights mapped from the checkpoint:
 * <pre>
 *   x = embed(ids)                       [T, hidden]
 *   for each layer: x = layer(x, cache)  (DecoderLayer: attention, then SwiGLU MLP)
 *   logits = lm_head(rms_norm(x[last]))  [1, vocab]
 * </pre>
 * {@link #newSession} gives a sequence with its own KV cache; {@link #decode(List, int[])} steps
 * several sequences at once (continuous batching).
 */
public final class LlamaModel implements AutoCloseable {
    /**
     * Prompt tokens run through the model in one forward pass by default. Longer prompts go in
     * chunks of this many, so the activations (the MLP's [chunk, intermediate] temporaries above
     * all) stay the same size whatever the prompt's length, while a chunk is still long enough to
     * keep the matmuls busy.
     */
    public static final int DEFAULT_PREFILL_CHUNK = 512;

    private final TorchOps ops;
    private final LayerOps layerOps;
    private final LlamaConfig config;
    private final PtNDManager manager;
    private final PtNDArray embedding; // [vocab, hidden] bf16
    private final List<DecoderLayer> layers;
    private final PtNDArray norm; // [hidden] bf16
    private final Linear lmHead;
    private final RotaryEmbedding rope;
    private final long weightBytesPerToken;
    private volatile int prefillChunk = DEFAULT_PREFILL_CHUNK;

    private LlamaModel(TorchOps ops, LayerOps layerOps, LlamaConfig config, PtNDManager manager, PtNDArray embedding,
            List<DecoderLayer> layers, PtNDArray norm, Linear lmHead, RotaryEmbedding rope) {
        this.ops = ops;
        this.layerOps = layerOps;
        this.config = config;
        this.manager = manager;
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.norm = norm;
        this.lmHead = lmHead;
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
    public static LlamaModel load(TorchRuntime runtime, Path dir, NativeKernels natives) {
        return load(runtime, dir, natives, null);
    }

    /**
     * As {@link #load(TorchRuntime, Path, NativeKernels)}, every projection showing its inputs to
     * {@code observer} ({@code null}: none), the LM head's when it is not tied to the embedding.
     */
    public static LlamaModel load(TorchRuntime runtime, Path dir, NativeKernels natives, ProjectionObserver observer) {
        LlamaConfig config = LlamaConfig.load(dir);
        SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir);
        TorchOps ops = runtime.ops();
        PtNDManager manager = (PtNDManager) runtime.manager().newSubManager();
        try (MappedWeights weights = new MappedWeights(ops, manager, checkpoint)) {
            checkpoint.requireAll(LlamaWeights.names(config).stream()
                    .map(name -> LinearLoader.storedName(weights, name)).toList());
            LinearLoader linears = new LinearLoader(ops, natives, manager, weights, observer);
            int h = config.hiddenSize();
            PtNDArray embedding = weights.bf16(LlamaWeights.EMBED, config.vocabSize(), h);
            RotaryEmbedding rope = new RotaryEmbedding(manager, config);
            LayerOps layerOps = new LayerOps(ops, natives.ops());
            List<DecoderLayer> layers = new ArrayList<>();
            for (int i = 0; i < config.numLayers(); i++) {
                LlamaWeights.Layer n = LlamaWeights.layer(i);
                DecoderLayer.Weights w = new DecoderLayer.Weights(
                        weights.bf16(n.inputNorm(), h),
                        linears.load(n.q(), config.queryWidth(), h),
                        linears.load(n.k(), config.kvWidth(), h),
                        linears.load(n.v(), config.kvWidth(), h),
                        linears.load(n.o(), h, config.queryWidth()),
                        weights.bf16(n.postAttentionNorm(), h),
                        linears.load(n.gate(), config.intermediateSize(), h),
                        linears.load(n.up(), config.intermediateSize(), h),
                        linears.load(n.down(), h, config.intermediateSize()));
                layers.add(new DecoderLayer(layerOps, config, i, w, rope));
            }
            PtNDArray norm = weights.bf16(LlamaWeights.NORM, h);
            Linear lmHead = config.tieWordEmbeddings()
                    ? new Bf16Linear(ops, natives.ops(), embedding, config.vocabSize(), h)
                    : linears.load(LlamaWeights.LM_HEAD, config.vocabSize(), h);
            linears.finish();
            return new LlamaModel(ops, layerOps, config, manager, embedding, layers, norm, lmHead, rope);
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
        WeightFormat projections = layers.get(0).projectionFormat();
        WeightFormat head = lmHead.format();
        return head.equals(projections) ? projections.id() : projections.id() + " (LM head " + head.id() + ")";
    }

    /** Bytes of weights one decode step reads: every projection and the LM head. */
    public long weightBytesPerToken() {
        return weightBytesPerToken;
    }

    /** Prompt tokens per forward pass in {@link InferenceSession#prefill(int[])}. */
    public int prefillChunk() {
        return prefillChunk;
    }

    /**
     * Sets the prompt tokens per forward pass of {@link InferenceSession#prefill(int[])} (default
     * {@value #DEFAULT_PREFILL_CHUNK}): smaller bounds the activations' memory more tightly and,
     * in the server, the pause a long prompt causes the streams decoding beside it.
     */
    public void setPrefillChunk(int tokens) {
        if (tokens < 1) {
            throw new WoqException("The prefill chunk must be at least 1 token, got " + tokens);
        }
        this.prefillChunk = tokens;
    }

    /** A new sequence whose KV cache holds up to {@code capacity} positions. */
    public InferenceSession newSession(int capacity) {
        if (capacity < 1 || capacity > config.maxPositionEmbeddings()) {
            throw new WoqException(
                    "A session needs 1.." + config.maxPositionEmbeddings() + " positions (the context length), got " + capacity);
        }
        return new InferenceSession(this, new KvCache(ops, manager, config, capacity));
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
            PtNDArray x = ops.embedding(scope, embedding, (PtNDArray) scope.create(longIds)); // [T, hidden]
            for (DecoderLayer layer : layers) {
                layer.forward(scope, x, cache, position);
            }
            // Only the last position's logits are needed: [1, hidden] → [1, vocab].
            PtNDArray last = ops.lastRow(scope, x);
            PtNDArray logits = lmHead.apply(scope, layerOps.rmsNorm(scope, last, norm, config.rmsNormEps()));
            return ops.toFloat(scope, logits).toFloatArray();
        }
    }

    /** A copy of the first {@code positions} positions of {@code cache}, owned by this model's memory. */
    KvPrefix copyPrefix(KvCache cache, int positions) {
        return cache.copyPrefix(ops, manager, positions);
    }

    /** Writes the first {@code positions} of {@code prefix} into the start of {@code cache}. */
    void restorePrefix(KvCache cache, KvPrefix prefix, int positions) {
        cache.restore(ops, prefix, positions);
    }

    /**
     * As {@link #step} but returns the fp32 logits of every position of {@code ids}, row-major
     * {@code [ids.length][vocab]}: what perplexity and KL divergence need ({@code woq eval}). The LM
     * head runs on the whole [T, hidden] block, so keep T small enough for T x vocab floats.
     */
    float[][] stepAll(int[] ids, KvCache cache, int position) {
        int vocab = config.vocabSize();
        float[] flat;
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            long[] longIds = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                longIds[i] = ids[i];
            }
            PtNDArray x = ops.embedding(scope, embedding, (PtNDArray) scope.create(longIds)); // [T, hidden]
            for (DecoderLayer layer : layers) {
                layer.forward(scope, x, cache, position);
            }
            PtNDArray logits = lmHead.apply(scope, layerOps.rmsNorm(scope, x, norm, config.rmsNormEps())); // [T, vocab]
            flat = ops.toFloat(scope, logits).toFloatArray();
        }
        float[][] out = new float[ids.length][];
        for (int t = 0; t < ids.length; t++) {
            out[t] = Arrays.copyOfRange(flat, t * vocab, (t + 1) * vocab);
        }
        return out;
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
            PtNDArray x = ops.embedding(scope, embedding, (PtNDArray) scope.create(longIds)); // [B, hidden]
            for (DecoderLayer layer : layers) {
                layer.forwardBatch(scope, x, caches, positions);
            }
            PtNDArray logits = lmHead.apply(scope, layerOps.rmsNorm(scope, x, norm, config.rmsNormEps())); // [B, vocab]
            flat = ops.toFloat(scope, logits).toFloatArray();
        }
        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
            sessions.get(b).advance();
        }
        return out;
    }

    @Override
    public void close() {
        rope.close();
        manager.close();
    }
}
