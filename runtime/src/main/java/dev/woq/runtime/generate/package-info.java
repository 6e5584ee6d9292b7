/**
 * Generation: sampling ({@link dev.woq.runtime.generate.Sampler}), the single-sequence
 * {@link dev.woq.runtime.generate.Generator} and the {@link dev.woq.runtime.generate.ContinuousBatcher}
 * that decodes many requests together. Works on token ids; uses {@code model} only.
 */
package dev.woq.runtime.generate;
