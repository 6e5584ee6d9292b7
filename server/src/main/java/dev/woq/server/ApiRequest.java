package dev.woq.server;

import dev.woq.tokenizer.Llama3ChatTemplate;
import java.util.List;

/**
 * A completion request after validation: either chat {@code messages} or a raw {@code prompt},
 * with OpenAI's sampling fields and their defaults applied.
 *
 * @param maxTokens null when the request leaves it open: up to the end of the context
 */
record ApiRequest(
        boolean chat, String model, List<Llama3ChatTemplate.Message> messages, String prompt, double temperature,
        double topP, Integer maxTokens, List<String> stop, Long seed, boolean stream, boolean includeUsage) {
}
