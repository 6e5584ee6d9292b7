/**
 * Reading and writing Hugging Face <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * checkpoints, in pure Java.
 *
 * <p>A safetensors file is an 8-byte little-endian header length {@code N}, {@code N} bytes of
 * UTF-8 JSON naming each tensor's dtype, shape and {@code data_offsets}, then the data section,
 * which the tensors cover contiguously with no holes. This package reads only headers: {@link
 * dev.woq.runtime.safetensors.SafetensorsFile} and {@link
 * dev.woq.runtime.safetensors.SafetensorsCheckpoint} validate them as strictly as the reference
 * library does and describe each tensor by file and absolute byte offset ({@link
 * dev.woq.runtime.safetensors.TensorInfo}), so that the engine can map the data itself without it
 * ever passing through the Java heap.
 *
 * <p>{@link dev.woq.runtime.safetensors.SafetensorsWriter} and {@link
 * dev.woq.runtime.safetensors.ShardedCheckpointWriter} stream tensors to disk in bounded memory,
 * align the data section to 64 bytes, and publish files by atomic rename, so a failed write never
 * leaves a half-written checkpoint behind.
 *
 * <p>Every failure is a {@link dev.woq.runtime.CheckpointException} whose message names the file,
 * the tensor and the values seen, and says what to do.
 */
package dev.woq.runtime.safetensors;
