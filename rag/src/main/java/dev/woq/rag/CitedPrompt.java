package dev.woq.rag;

import dev.woq.runtime.WoqException;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The chat prompt (in the model's chat format) of a question over documents: numbered passages, and the instruction to
 * answer from them alone with {@code [n]} citations. Passages that do not fit in the context
 * (with room left for the answer) are dropped, lowest rank first.
 */
public final class CitedPrompt {
    /** The system message: answer from the passages only, cite them. */
    public static final String SYSTEM = "You answer questions about the user's documents. Use only the numbered"
            + " passages given with the question. After each statement, cite the passages it comes from as [n],"
            + " for example [1] or [2][3]. If the passages do not contain the answer, say so.";

    private final List<Source> sources;
    private final List<Hit> dropped;
    private final int[] ids;

    private CitedPrompt(List<Source> sources, List<Hit> dropped, int[] ids) {
        this.sources = sources;
        this.dropped = dropped;
        this.ids = ids;
    }

    /**
     * The prompt for {@code question} with as many of {@code hits} (best first) as fit in
     * {@code contextTokens - answerTokens}.
     *
     * @throws WoqException when not even the question fits
     */
    public static CitedPrompt fit(ChatFormat template, String question, List<Hit> hits, int contextTokens,
            int answerTokens) {
        int budget = contextTokens - answerTokens;
        for (int kept = hits.size(); kept >= 0; kept--) {
            List<Source> sources = new ArrayList<>();
            for (int i = 0; i < kept; i++) {
                sources.add(new Source(i + 1, hits.get(i)));
            }
            int[] ids = template.encodeDialogPrompt(messages(question, sources));
            if (ids.length <= budget) {
                return new CitedPrompt(sources, List.copyOf(hits.subList(kept, hits.size())), ids);
            }
        }
        throw new WoqException("The question alone does not fit in the model's context of " + contextTokens
                + " tokens with " + answerTokens + " left for the answer: shorten it, or lower --max-new-tokens");
    }

    /** The system and user messages for {@code sources}. */
    static List<Message> messages(String question, List<Source> sources) {
        StringBuilder user = new StringBuilder();
        if (sources.isEmpty()) {
            user.append("No passages were found.\n\n");
        } else {
            user.append("Passages:\n\n");
            for (Source s : sources) {
                user.append('[').append(s.n()).append("] ").append(label(s.hit())).append(":\n")
                        .append(s.hit().text()).append("\n\n");
            }
        }
        user.append("Question: ").append(question.strip());
        return List.of(new Message(Role.SYSTEM, SYSTEM), new Message(Role.USER, user.toString()));
    }

    /** {@code handbook.pdf, page 3}, or the bare file name for a file without pages. */
    static String label(Hit hit) {
        String name = hit.file().getFileName().toString();
        return hit.page() > 0 ? String.format(Locale.ROOT, "%s, page %d", name, hit.page()) : name;
    }

    /** The passages in the prompt, numbered. */
    public List<Source> sources() {
        return sources;
    }

    /** The retrieved passages left out for lack of room. */
    public List<Hit> dropped() {
        return dropped;
    }

    /** The prompt's token ids. */
    public int[] ids() {
        return ids.clone();
    }
}
