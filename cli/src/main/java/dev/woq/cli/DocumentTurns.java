package dev.woq.cli;

import dev.woq.rag.Answer;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.DocumentQa;
import dev.woq.rag.Hit;
import dev.woq.rag.SearchMode;
import dev.woq.rag.Source;
import dev.woq.runtime.LocalModel;
import dev.woq.runtime.generate.GenerationConfig;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The turns of {@code woq chat --index}: each user message is a question over the index, answered
 * as {@code woq ask} answers it ({@link DocumentQa}: the retrieved passages in a cited prompt).
 * Each question is asked on its own with its own passages: earlier turns are not in the prompt,
 * which keeps the whole context for passages. Remembers the last answer for {@code /sources}.
 */
final class DocumentTurns {
    private final DocumentQa qa;
    private final int passages;
    private final SearchMode mode;
    private final GenerationConfig config;
    private final Places places = new Places();
    private Answer last;
    private long turns;

    DocumentTurns(DocumentIndex index, LocalModel model, int passages, SearchMode mode, GenerationConfig config) {
        this.qa = new DocumentQa(index, model);
        this.passages = passages;
        this.mode = mode;
        this.config = config;
    }

    /** Retrieves, answers with the text going to {@code onText} as it comes, and keeps the answer. */
    Answer ask(String question, Consumer<String> onText) {
        // A new seed each turn, as a conversation's replies differ; the same --seed repeats the session.
        GenerationConfig turn = new GenerationConfig(config.maxNewTokens(), config.temperature(), config.topK(),
                config.topP(), config.repetitionPenalty(), config.seed() + turns++, config.stopTokenIds());
        last = qa.ask(question, passages, mode, turn, onText);
        return last;
    }

    /** {@code /sources}: the last answer's passages, numbered as it cites them. */
    String sources() {
        if (last == null) {
            return "no answer yet: ask a question first";
        }
        StringBuilder sb = new StringBuilder();
        for (Source s : last.sources()) {
            sb.append(AskCommand.sourceLine(s, places)).append(System.lineSeparator());
        }
        for (Hit h : last.dropped()) {
            sb.append(String.format(Locale.ROOT, "  (rank %d, %s%s: left out, no room in the context)%n", h.rank(),
                    places.show(h.file()), h.page() > 0 ? ", page " + h.page() : ""));
        }
        return sb.isEmpty() ? "no passages" : sb.toString().stripTrailing();
    }

    /** {@code /stats}: where the last answer's time went. */
    String stats() {
        if (last == null) {
            return "no answer yet";
        }
        Answer.Timings t = last.timings();
        return String.format(Locale.ROOT, "retrieved in %.0f ms; prompt %d tokens; first token after %.2f s; %s;"
                        + " stop: %s", t.retrieveMillis(), t.promptTokens(), t.timeToFirstTokenMillis() / 1000,
                Double.isNaN(t.tokensPerSecond()) ? "one token" : String.format(Locale.ROOT, "%.2f tok/s",
                        t.tokensPerSecond()),
                last.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
    }
}
