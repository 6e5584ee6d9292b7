/**
 * woq's OpenAI-compatible HTTP API ({@code woq serve}): Javalin routes, request parsing with
 * errors in OpenAI's shape, SSE streaming, stop strings, over one
 * {@link dev.woq.runtime.generate.ContinuousBatcher}; embeddings and document search over
 * {@code rag}'s MiniLM and index. May use {@code runtime}, {@code tokenizer} and {@code rag}; knows
 * nothing of the CLI or of kernel internals.
 */
package dev.woq.server;
