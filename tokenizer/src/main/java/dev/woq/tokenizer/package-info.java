/**
 * Tokenization for woq, for Llama 3 and Llama 2: {@link dev.woq.tokenizer.Tokenizer} turns text
 * into token ids and back ({@link dev.woq.tokenizer.Llama3Tokenizer}, byte-level BPE;
 * {@link dev.woq.tokenizer.Llama2Tokenizer}, SentencePiece BPE with byte fallback), and
 * {@link dev.woq.tokenizer.Tokenizers#load} picks the family from the file;
 * {@link dev.woq.tokenizer.ChatFormat} builds chat prompts exactly as the family's reference does
 * ({@link dev.woq.tokenizer.Llama3ChatTemplate}, {@link dev.woq.tokenizer.Llama2ChatFormat}), and
 * {@link dev.woq.tokenizer.ChatFormats} chooses one from the model's chat template;
 * {@link dev.woq.tokenizer.StreamingDecoder} turns generated ids into text as they arrive without
 * breaking characters apart.
 *
 * <p>Tokenizers are read from a Hugging Face {@code tokenizer.json} (Llama 2's also from a GGUF
 * vocabulary); {@code scripts/fetch-tokenizer.sh} installs checksum-pinned copies of Meta's Llama
 * 3 and Llama 2 tokenizers. Errors a user can act on are
 * {@link dev.woq.tokenizer.TokenizerException}s. This module does not depend on woq's runtime, so
 * it can be used on its own.
 */
package dev.woq.tokenizer;
