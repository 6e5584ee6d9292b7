/**
 * Llama 3 tokenization for woq: {@link dev.woq.tokenizer.Llama3Tokenizer} turns text into token
 * ids and back, {@link dev.woq.tokenizer.Llama3ChatTemplate} builds chat prompts exactly as
 * Meta's reference {@code ChatFormat} does, and {@link dev.woq.tokenizer.StreamingDecoder}
 * turns generated ids into text as they arrive without breaking characters apart.
 *
 * <p>The tokenizer is read from a Hugging Face {@code tokenizer.json};
 * {@code scripts/fetch-tokenizer.sh} installs a checksum-pinned copy of Meta's Llama 3 tokenizer.
 * Errors a user can act on are {@link dev.woq.tokenizer.TokenizerException}s. This module does
 * not depend on woq's runtime, so it can be used on its own.
 */
package dev.woq.tokenizer;
