/**
 * Multi-turn chat on one model: {@link dev.woq.runtime.chat.Conversation} keeps the dialog as
 * token ids in the model's chat format, reuses the KV cache of earlier turns, and drops the oldest
 * turns when the context fills.
 */
package dev.woq.runtime.chat;
