/**
 * Measuring a loaded model the way {@code llama-bench} does: a fixed prompt, then greedy decode
 * steps that ignore end tokens, timed per step; medians and spreads over runs. The sampler is
 * left out on purpose (argmax only), so the numbers are the model's.
 */
package dev.woq.runtime.bench;
