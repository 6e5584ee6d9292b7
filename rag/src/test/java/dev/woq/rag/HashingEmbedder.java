package dev.woq.rag;

import java.util.List;

/**
 * A second, real embedding model (bag of hashed words) with another name: what an index built with
 * MiniLM must refuse.
 */
final class HashingEmbedder implements Embedder {
    @Override
    public String modelId() {
        return "test/hashing-64";
    }

    @Override
    public int dimensions() {
        return 64;
    }

    @Override
    public int maxTokens() {
        return 256;
    }

    @Override
    public int countTokens(String text) {
        return text.isBlank() ? 2 : text.strip().split("\\s+").length + 2;
    }

    @Override
    public float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][64];
        for (int i = 0; i < texts.size(); i++) {
            for (String w : texts.get(i).toLowerCase().split("\\W+")) {
                out[i][Math.floorMod(w.hashCode(), 64)] += 1;
            }
            double n = 0;
            for (float f : out[i]) {
                n += f * f;
            }
            for (int d = 0; d < 64; d++) {
                out[i][d] /= (float) Math.max(1e-9, Math.sqrt(n));
            }
        }
        return out;
    }

    @Override
    public void close() {}
}
