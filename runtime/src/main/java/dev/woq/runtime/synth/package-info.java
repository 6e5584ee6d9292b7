/**
 * Synthetic checkpoints: random weights in the exact Hugging Face layout of Llama 3 at any preset
 * size, for tests and benchmarks where real weights cannot be downloaded. Uses {@code safetensors}.
 */
package dev.woq.runtime.synth;
