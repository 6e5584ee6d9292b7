package dev.woq.runtime.generate;

import java.util.BitSet;

/**
 * Hugging Face's repetition penalty: a token already in the sequence has its logit divided by the
 * penalty when positive and multiplied when negative, so it becomes less likely either way.
 */
final class RepetitionPenalty {
    private final double penalty;
    private final BitSet seen = new BitSet();

    RepetitionPenalty(double penalty) {
        this.penalty = penalty;
    }

    void observe(int id) {
        seen.set(id);
    }

    void apply(float[] logits) {
        if (penalty == 1) {
            return;
        }
        for (int id = seen.nextSetBit(0); id >= 0 && id < logits.length; id = seen.nextSetBit(id + 1)) {
            logits[id] = (float) (logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty);
        }
    }
}
