package dev.woq.rag;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.StreamingDecoder;
import java.util.List;
import java.util.function.Consumer;

/**
 * Answers a question from an index: retrieves passages, fits them into a chat prompt (the model's format) that
 * asks for an answer from them alone with {@code [n]} citations ({@link CitedPrompt}), and generates
 * with the runtime's {@link Generator}, handing the text to a callback as it comes.
 *
 * <pre>{@code
 * DocumentQa qa = new DocumentQa(index, model);
 * Answer a = qa.ask("What is the minimum guarantee?", 4, SearchMode.HYBRID,
 *         GenerationConfig.greedy(256, Set.of()), System.out::print);
 * a.sources().forEach(s -> System.out.println(s.n() + " " + s.hit().file() + " p." + s.hit().page()));
 * }</pre>
 */
public final class DocumentQa {
    private final DocumentIndex index;
    private final LocalModel model;
    private final ChatFormat template;

    public DocumentQa(DocumentIndex index, LocalModel model) {
        this.index = index;
        this.model = model;
        this.template = model.chatFormat();
    }

    /**
     * Retrieves {@code topK} passages for {@code question} and, with those that fit, generates an answer.
     *
     * @param generation sampling settings; the chat format's stop tokens are added
     * @param onText receives the answer's text as it is generated
     * @throws EmptyIndexException when the index holds no passages
     */
    public Answer ask(String question, int topK, SearchMode mode, GenerationConfig generation, Consumer<String> onText) {
        long start = System.nanoTime();
        List<Hit> hits = index.search(question, mode, topK);
        double retrieveMillis = (System.nanoTime() - start) / 1e6;
        return answer(question, hits, retrieveMillis, generation, onText);
    }

    /** Generates an answer to {@code question} from already retrieved {@code hits} (best first). */
    public Answer answer(String question, List<Hit> hits, double retrieveMillis, GenerationConfig generation,
            Consumer<String> onText) {
        int context = model.model().config().maxPositionEmbeddings();
        CitedPrompt prompt = CitedPrompt.fit(template, question, hits, context, generation.maxNewTokens());
        GenerationConfig config = generation.withStopTokens(template.stopTokenIds());
        StreamingDecoder decoder = new StreamingDecoder(model.tokenizer());
        StringBuilder text = new StringBuilder();
        GenerationResult result = new Generator(model.model()).generate(prompt.ids(), config, id -> {
            String piece = decoder.push(id);
            text.append(piece);
            if (!piece.isEmpty()) {
                onText.accept(piece);
            }
        });
        String tail = decoder.flush();
        text.append(tail);
        if (!tail.isEmpty()) {
            onText.accept(tail);
        }
        Answer.Timings timings = new Answer.Timings(retrieveMillis, prompt.ids().length,
                result.timeToFirstTokenNanos() / 1e6, result.decodeTokensPerSecond());
        return new Answer(text.toString(), prompt.sources(), prompt.dropped(), timings, result.stopReason());
    }
}
