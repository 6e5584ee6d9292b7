/**
 * woq's runtime: the entry points a program needs ({@link dev.woq.runtime.LocalModel}) and the
 * exception hierarchy every module reports user errors with ({@link dev.woq.runtime.WoqException}).
 * The sub-packages hold the engine, the checkpoint formats, the model, generation, quantization
 * and the registry. May use {@code tokenizer}; never the CLI, the server or other modules above it.
 */
package dev.woq.runtime;
