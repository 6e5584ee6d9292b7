/**
 * The Llama model: {@link dev.woq.runtime.model.LlamaModel} (embedding, layers, norm, LM head) and
 * {@link dev.woq.runtime.model.DecoderLayer} read top to bottom; the projections as
 * {@link dev.woq.runtime.model.Linear}s, one implementation per weight format and kernel; the
 * weights mapped from safetensors ({@link dev.woq.runtime.model.MappedWeights}), the KV cache and
 * sessions. Calls libtorch and woq's kernels only through {@code engine}'s typed operations.
 */
package dev.woq.runtime.model;
