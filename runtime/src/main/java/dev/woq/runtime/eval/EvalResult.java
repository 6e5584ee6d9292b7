package dev.woq.runtime.eval;

import com.google.gson.JsonObject;
import java.util.Locale;

/**
 * What {@code woq eval} measured over a text. See {@link NextTokenStats} for the definitions.
 *
 * @param tokens positions scored (each predicting the token after it)
 * @param chunks context windows the text was cut into
 * @param context tokens per window
 * @param perplexity the candidate's perplexity
 * @param referencePerplexity the reference's perplexity on the same positions, {@code null} without one
 * @param divergence the candidate against the reference, {@code null} without one
 */
public record EvalResult(long tokens, int chunks, int context, double perplexity, Double referencePerplexity,
        Divergence divergence) {

    /**
     * The candidate's next-token distributions against the reference's.
     *
     * @param klMean mean KL(reference || candidate) in nats
     * @param klMedian median KL
     * @param klP99 99th percentile of KL
     * @param klMax largest KL at any position
     * @param top1Agreement fraction of positions whose most likely token is the same
     * @param logitsCosine mean cosine of the two logit vectors
     */
    public record Divergence(double klMean, double klMedian, double klP99, double klMax, double top1Agreement,
            double logitsCosine) {}

    /** All fields, names in snake case; the reference's are absent without a reference. */
    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("tokens", tokens);
        json.addProperty("chunks", chunks);
        json.addProperty("context", context);
        json.addProperty("perplexity", perplexity);
        if (referencePerplexity != null) {
            json.addProperty("reference_perplexity", referencePerplexity);
        }
        if (divergence != null) {
            json.addProperty("kl_mean", divergence.klMean());
            json.addProperty("kl_median", divergence.klMedian());
            json.addProperty("kl_p99", divergence.klP99());
            json.addProperty("kl_max", divergence.klMax());
            json.addProperty("top1_agreement", divergence.top1Agreement());
            json.addProperty("logits_cosine", divergence.logitsCosine());
        }
        return json;
    }

    /** Human-readable lines, one figure each. */
    public String toText() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "tokens scored      %d (%d chunks of %d)%n", tokens, chunks, context));
        s.append(String.format(Locale.ROOT, "perplexity         %.4f%n", perplexity));
        if (referencePerplexity != null) {
            s.append(String.format(Locale.ROOT, "reference ppl      %.4f%n", referencePerplexity));
        }
        if (divergence != null) {
            s.append(String.format(Locale.ROOT, "KL mean            %.6f%n", divergence.klMean()));
            s.append(String.format(Locale.ROOT, "KL median          %.6f%n", divergence.klMedian()));
            s.append(String.format(Locale.ROOT, "KL 99th percentile %.6f%n", divergence.klP99()));
            s.append(String.format(Locale.ROOT, "KL max             %.6f%n", divergence.klMax()));
            s.append(String.format(Locale.ROOT, "top-1 agreement    %.4f%n", divergence.top1Agreement()));
            s.append(String.format(Locale.ROOT, "logits cosine      %.6f%n", divergence.logitsCosine()));
        }
        return s.toString();
    }
}
