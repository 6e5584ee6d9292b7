/**
 * GGUF, llama.cpp's file format: {@link dev.woq.runtime.gguf.GgufReader} (versions 2 and 3, tensor
 * data mapped one tensor at a time), {@link dev.woq.runtime.gguf.GgufWriter} (atomic: written aside,
 * then renamed), {@link dev.woq.runtime.gguf.GgufType} (the one table of tensor types, block sizes,
 * bytes and arithmetic: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K read; F32, F16, BF16, Q8_0,
 * Q4_0 written), {@link dev.woq.runtime.gguf.GgufKeys} (metadata keys), and the Llama mapping both
 * ways: {@link dev.woq.runtime.gguf.LlamaGgufExporter} and {@link dev.woq.runtime.gguf.LlamaGgufImporter}.
 *
 * <p>The formats follow llama.cpp's {@code ggml/include/gguf.h}, {@code ggml/src/ggml-quants.c} and
 * {@code gguf-py/gguf/constants.py}; the code is woq's own.
 */
package dev.woq.runtime.gguf;
