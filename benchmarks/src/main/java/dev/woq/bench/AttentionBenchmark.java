package dev.woq.bench;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.model.KvCache;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.RotaryEmbedding;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.synth.SyntheticPreset;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One layer's attention kernel at Llama-3-8B's shape (32 query heads, 8 KV heads, head dim 128):
 * RoPE, the KV cache write and SDPA with grouped heads, for {@code tokens} new tokens after
 * {@code context} cached positions. The projections are not included ({@link LinearBenchmark}
 * times them). The cache is filled with real keys and values by a prefill in setup. {@code kernel}
 * picks libtorch's TorchScript ({@code LlamaOps.attention}: SDPA for one token, two fp32 flash
 * calls and their merge for several) or woq's native operators ({@code attention_decode} for one
 * token, {@code attention_prefill} for several), as {@code LayerOps} picks them in the model.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AttentionBenchmark {
    @Param({"128", "1024", "4096", "8192"})
    public int context;

    @Param({"1", "128"})
    public int tokens;

    @Param({"libtorch", "native"})
    public String kernel;

    private LlamaConfig config;
    private TorchOps ops;
    private NativeOps natives; // null: libtorch's
    private PtNDManager manager;
    private RotaryEmbedding rope;
    private KvCache cache;
    private PtNDArray q;
    private PtNDArray k;
    private PtNDArray v;

    @Setup(Level.Trial)
    public void setUp() {
        LlamaConfig full = SyntheticPreset.LLAMA3_8B.config();
        // One layer of the 8B shape: the cache of the other 31 is not needed.
        config = new LlamaConfig(full.hiddenSize(), full.numHeads(), full.numKvHeads(), full.headDim(),
                full.intermediateSize(), 1, full.rmsNormEps(), full.ropeTheta(), full.ropeScaling(), full.vocabSize(),
                Math.max(full.maxPositionEmbeddings(), context + tokens), full.tieWordEmbeddings(), full.bosTokenId(),
                full.eosTokenIds(), full.torchDtype());
        TorchRuntime torch = TorchRuntime.start();
        ops = torch.ops();
        if (kernel.equals("native")) {
            natives = torch.natives().ops().orElseThrow(() -> new IllegalStateException(
                    "kernel=native: woq's native kernels did not load: " + torch.natives().status()));
        } else if (!kernel.equals("libtorch")) {
            throw new IllegalArgumentException("kernel is libtorch or native, got " + kernel);
        }
        manager = (PtNDManager) torch.manager().newSubManager();
        rope = new RotaryEmbedding(manager, config);
        cache = new KvCache(ops, manager, config, context + tokens);
        int qWidth = config.numHeads() * config.headDim();
        int kvWidth = config.numKvHeads() * config.headDim();
        try (PtNDManager fill = (PtNDManager) manager.newSubManager()) {
            attend(fill, LinearBenchmark.randomBf16(ops, fill, context, qWidth, 1),
                    LinearBenchmark.randomBf16(ops, fill, context, kvWidth, 2),
                    LinearBenchmark.randomBf16(ops, fill, context, kvWidth, 3), 0);
        }
        q = LinearBenchmark.randomBf16(ops, manager, tokens, qWidth, 4);
        k = LinearBenchmark.randomBf16(ops, manager, tokens, kvWidth, 5);
        v = LinearBenchmark.randomBf16(ops, manager, tokens, kvWidth, 6);
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            float[] out = ops.toFloat(scope, attend(scope, q, k, v, context)).toFloatArray();
            for (float f : out) {
                if (!Float.isFinite(f)) {
                    throw new IllegalStateException("attention at context " + context + " gave " + f);
                }
            }
            if (out.length != tokens * qWidth) {
                throw new IllegalStateException("attention gave " + out.length + " values, expected " + tokens * qWidth);
            }
            if (natives != null) {
                // the native kernel against libtorch's on the same cache (both write the same rows)
                float[] reference = ops.toFloat(scope, ops.attention(scope, q, k, v, rope.cos(), rope.sin(),
                        cache.keys(0), cache.values(0), context, config.numHeads(), config.numKvHeads(),
                        config.headDim())).toFloatArray();
                double error = LinearBenchmark.relativeError(out, qWidth, reference, qWidth, tokens);
                if (!(error < 0.01)) {
                    throw new IllegalStateException("native attention at context " + context + " differs from "
                            + "libtorch's by " + error + " (relative RMS)");
                }
            }
        }
    }

    private PtNDArray attend(PtNDManager scope, PtNDArray q, PtNDArray k, PtNDArray v, int position) {
        if (natives != null) {
            int heads = config.numHeads(), kvHeads = config.numKvHeads();
            return q.getShape().get(0) == 1
                    ? natives.attentionDecode(scope, q, k, v, rope.cos(), rope.sin(), cache.keys(0), cache.values(0),
                            position, heads, kvHeads)
                    : natives.attentionPrefill(scope, q, k, v, rope.cos(), rope.sin(), cache.keys(0), cache.values(0),
                            position, heads, kvHeads);
        }
        return ops.attention(scope, q, k, v, rope.cos(), rope.sin(), cache.keys(0), cache.values(0),
                position, config.numHeads(), config.numKvHeads(), config.headDim());
    }

    /** The same new tokens at the same position each time: the cache rows they write are rewritten. */
    @Benchmark
    public long attention() {
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            return attend(scope, q, k, v, context).getShape().get(0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
        rope.close();
        manager.close();
    }
}
