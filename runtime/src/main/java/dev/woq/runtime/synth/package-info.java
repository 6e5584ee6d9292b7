/**
 * Synthetic checkpoints: random weights in the exact Hugging Face layout of Llama 3 at any preset
 * size, for tests and benchmarks where real weights cannot be downloaded: Gaussian, or {@link
 * dev.woq.runtime.synth.SyntheticWeights#LLM_LIKE} (heavy tails, outlier input channels, per-matrix
 * scales) for quantizer comparisons. Uses {@code safetensors}.
 */
package dev.woq.runtime.synth;
