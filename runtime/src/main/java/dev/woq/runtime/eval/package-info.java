/**
 * Quality of a model's next-token predictions over a text: perplexity, and against a reference
 * model run on the same tokens the KL divergence, top-1 agreement and logits cosine, as llama.cpp's
 * {@code llama-perplexity --kl-divergence} reports them. {@link dev.woq.runtime.eval.TextEvaluator}
 * streams the text in context-sized windows; {@link dev.woq.runtime.eval.NextTokenStats} does the
 * per-position arithmetic; {@link dev.woq.runtime.eval.EvalResult} is what {@code woq eval} prints.
 */
package dev.woq.runtime.eval;
