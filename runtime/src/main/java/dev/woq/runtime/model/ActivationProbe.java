package dev.woq.runtime.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.ActivationImportance;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Runs a calibration text through a model and measures each projection's inputs: the sum of their
 * squares per input channel, over every token ({@link ActivationImportance}). The text goes in
 * windows of {@code window} tokens, each starting at BOS as a prompt does, through every position
 * (the LM head's inputs included, in pieces of {@link #PIECE} positions whose logits are dropped),
 * so memory stays one window's KV cache and one piece's logits.
 */
public final class ActivationProbe {
    /** Positions whose logits are computed (and dropped) at once: the LM head sees every position. */
    static final int PIECE = 64;

    /** Receives progress after every window. */
    @FunctionalInterface
    public interface Progress {
        void update(long tokensDone, long tokensTotal);
    }

    private ActivationProbe() {}

    /**
     * Measures the inputs of every projection of the model in {@code modelDir} (in whatever format
     * it is stored; bf16 for calibration) on {@code tokens} (the text's ids, without BOS).
     *
     * @param window tokens per window, BOS included
     * @throws WoqException when a token id is outside the model's vocabulary
     */
    public static ActivationImportance measure(TorchRuntime runtime, Path modelDir, int[] tokens, int window,
            Progress progress) {
        ActivationImportance.Accumulator sums = new ActivationImportance.Accumulator();
        ProjectionObserver observer = (name, x) -> {
            PtNDArray squares = (PtNDArray) x.toType(DataType.FLOAT32, false).square().sum(new int[] {0});
            sums.add(name, squares.toFloatArray());
        };
        try (LlamaModel model = LlamaModel.load(runtime, modelDir, runtime.natives(), observer)) {
            LlamaConfig config = model.config();
            for (int t : tokens) {
                if (t < 0 || t >= config.vocabSize()) {
                    throw new WoqException("The calibration text has token id " + t + ", outside the model's vocabulary"
                            + " of " + config.vocabSize() + ": the tokenizer does not belong to the model in "
                            + modelDir + ".");
                }
            }
            int perWindow = Math.min(window, config.maxPositionEmbeddings()) - 1;
            long total = tokens.length;
            long done = 0;
            progress.update(0, total);
            try (InferenceSession session = model.newSession(perWindow + 1)) {
                for (int from = 0; from < tokens.length; from += perWindow) {
                    int to = Math.min(tokens.length, from + perWindow);
                    int[] ids = new int[to - from + 1];
                    ids[0] = config.bosTokenId();
                    System.arraycopy(tokens, from, ids, 1, to - from);
                    session.reset();
                    for (int p = 0; p < ids.length; p += PIECE) {
                        session.prefillAll(Arrays.copyOfRange(ids, p, Math.min(ids.length, p + PIECE)));
                    }
                    done += to - from;
                    progress.update(done, total);
                }
            }
        }
        return sums.finish(tokens.length);
    }
}
