package dev.woq.server;

import dev.woq.runtime.generate.ContinuousBatcher;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.Tokenizer;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;

/**
 * The served model: its tokenizer and chat format, and the batcher that generates for every
 * request. Turns an {@link ApiRequest} into prompt ids and a {@link GenerationConfig}, refusing
 * what cannot fit the context with both counts.
 */
final class ModelService implements AutoCloseable {
    private static final SecureRandom SEEDS = new SecureRandom();

    final String id;
    final LlamaModel model;
    final Tokenizer tokenizer;
    final ContinuousBatcher batcher;
    private final ChatFormat template;
    private final int beginOfText;
    private final int endOfText;

    ModelService(String id, LlamaModel model, ChatFormat chat, int maxConcurrent, int queue,
            long prefixCacheBytes) {
        this.id = id;
        this.model = model;
        this.tokenizer = chat.tokenizer();
        this.template = chat;
        // Completions: the family's begin and end of text (<|begin_of_text|>/<|end_of_text|>, <s>/</s>).
        boolean llama2 = tokenizer.family() == dev.woq.tokenizer.TokenizerFamily.LLAMA2;
        this.beginOfText = tokenizer.tokenId(llama2 ? "<s>" : "<|begin_of_text|>").orElseThrow();
        this.endOfText = tokenizer.tokenId(llama2 ? "</s>" : "<|end_of_text|>").orElseThrow();
        this.batcher = new ContinuousBatcher(model, maxConcurrent, queue, prefixCacheBytes);
    }

    int context() {
        return model.config().maxPositionEmbeddings();
    }

    /** Chat: the model's chat format, ready for the reply. Completion: BOS + the prompt. */
    int[] promptIds(ApiRequest request) {
        if (request.chat()) {
            try {
                return template.encodeDialogPrompt(request.messages());
            } catch (dev.woq.tokenizer.TokenizerException e) {
                // Llama 2's format takes only system?, then user and assistant in turn, ending with user.
                throw ApiError.badRequest(e.getMessage(), "messages");
            }
        }
        int[] text = tokenizer.encode(request.prompt());
        int[] ids = new int[text.length + 1];
        ids[0] = beginOfText;
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    GenerationConfig config(ApiRequest request, int promptTokens) {
        int context = context();
        String where = request.chat() ? "messages" : "prompt";
        if (promptTokens >= context) {
            throw ApiError.contextTooLong("This model's maximum context length is " + context + " tokens, but the "
                    + (request.chat() ? "messages are " : "prompt is ") + promptTokens
                    + " tokens long (and at least one token must be left for the reply).");
        }
        int maxTokens = request.maxTokens() != null ? request.maxTokens() : context - promptTokens;
        if ((long) promptTokens + maxTokens > context) {
            throw ApiError.contextTooLong("This model's maximum context length is " + context + " tokens. However, you"
                    + " requested " + (promptTokens + maxTokens) + " tokens (" + promptTokens + " in the " + where
                    + ", " + maxTokens + " in the completion). Reduce the " + where + " or max_tokens.");
        }
        Set<Integer> stops = new HashSet<>();
        stops.add(endOfText);
        if (request.chat()) {
            stops.addAll(template.stopTokenIds());
        }
        long seed = request.seed() != null ? request.seed() : SEEDS.nextLong();
        return new GenerationConfig(maxTokens, request.temperature(), 0, request.topP() == 0 ? Double.MIN_VALUE : request.topP(),
                1, seed, stops);
    }

    @Override
    public void close() {
        batcher.close();
        model.close();
        tokenizer.close();
    }
}
