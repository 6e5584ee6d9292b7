package dev.woq.runtime.eval;

import java.util.Arrays;

/**
 * Accumulates, position by position, how well a candidate model predicts the next token of a text
 * and how far its next-token distribution is from a reference model's. Per position it keeps only
 * the KL divergence (a float, for the percentiles); everything else is a running sum, so memory
 * grows by 4 bytes a scored token, not by the vocabulary.
 *
 * <p>Definitions (natural logs; p = softmax of the reference's logits, q = the candidate's):
 * <ul>
 *   <li>perplexity = exp(mean over positions of -log q(next token));
 *   <li>KL divergence = sum over the vocabulary of p (log p - log q), as llama.cpp's {@code
 *       --kl-divergence} ("KLD");
 *   <li>top-1 agreement = fraction of positions where argmax p = argmax q (llama.cpp's "Same top p");
 *   <li>cosine = the cosine of the two raw logit vectors, averaged over positions.
 * </ul>
 * Percentiles interpolate linearly between the two nearest ranks of the sorted values (rank
 * {@code fraction * (n - 1)}).
 */
public final class NextTokenStats {
    private long positions;
    private double candidateNll;
    private double referenceNll;
    private double klSum;
    private long sameTop1;
    private double cosineSum;
    private float[] kl = new float[1024];
    private final boolean withReference;

    /** @param withReference whether {@link #add} gets a reference's logits too */
    public NextTokenStats(boolean withReference) {
        this.withReference = withReference;
    }

    /**
     * Adds one position.
     *
     * @param candidate the candidate's logits at this position (read only)
     * @param reference the reference's logits at the same position, or {@code null} without reference
     * @param next the token that follows in the text
     */
    public void add(float[] candidate, float[] reference, int next) {
        if ((reference != null) != withReference) {
            throw new IllegalArgumentException(withReference ? "reference logits missing" : "no reference expected");
        }
        double lseQ = logSumExp(candidate);
        candidateNll += lseQ - candidate[next];
        if (reference != null) {
            if (reference.length != candidate.length) {
                throw new IllegalArgumentException("vocabularies differ: " + candidate.length + " vs " + reference.length);
            }
            double lseP = logSumExp(reference);
            referenceNll += lseP - reference[next];
            double divergence = 0;
            double dot = 0;
            double nq = 0;
            double np = 0;
            for (int i = 0; i < candidate.length; i++) {
                double logP = reference[i] - lseP;
                double logQ = candidate[i] - lseQ;
                divergence += Math.exp(logP) * (logP - logQ);
                dot += (double) candidate[i] * reference[i];
                nq += (double) candidate[i] * candidate[i];
                np += (double) reference[i] * reference[i];
            }
            divergence = Math.max(0, divergence); // rounding can leave -1e-16 for equal distributions
            klSum += divergence;
            if (positions == kl.length) {
                kl = Arrays.copyOf(kl, kl.length * 2);
            }
            kl[(int) positions] = (float) divergence;
            if (argmax(candidate) == argmax(reference)) {
                sameTop1++;
            }
            cosineSum += nq == 0 || np == 0 ? 0 : dot / Math.sqrt(nq * np);
        }
        positions++;
    }

    /** Positions added so far. */
    public long positions() {
        return positions;
    }

    /** The result so far; the reference's fields are {@code null} without a reference. */
    public EvalResult result(int chunks, int context) {
        if (positions == 0) {
            throw new IllegalStateException("no position scored");
        }
        double n = positions;
        if (!withReference) {
            return new EvalResult(positions, chunks, context, Math.exp(candidateNll / n), null, null);
        }
        float[] sorted = Arrays.copyOf(kl, (int) positions);
        Arrays.sort(sorted);
        EvalResult.Divergence d = new EvalResult.Divergence(
                klSum / n, percentile(sorted, 0.5), percentile(sorted, 0.99), sorted[sorted.length - 1],
                sameTop1 / n, cosineSum / n);
        return new EvalResult(positions, chunks, context, Math.exp(candidateNll / n), Math.exp(referenceNll / n), d);
    }

    /** log(sum(exp(x))) computed stably in double. */
    public static double logSumExp(float[] x) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }

    /** The index of the largest value (the first one on ties). */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Linear interpolation between the nearest ranks of {@code sorted} at {@code fraction * (n - 1)}. */
    public static double percentile(float[] sorted, double fraction) {
        double rank = fraction * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(sorted.length - 1, lo + 1);
        double t = rank - lo;
        return sorted[lo] * (1 - t) + sorted[hi] * t;
    }
}
