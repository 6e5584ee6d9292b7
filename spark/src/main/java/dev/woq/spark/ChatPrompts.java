package dev.woq.spark;

import dev.woq.spark.PromptTemplate.BadRow;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a row's column values into prompt ids in the model's chat format (the system prompt, then
 * the filled template as the user message), cutting the text column to fit when asked.
 */
final class ChatPrompts {
    private final SharedModel model;
    private final PromptTemplate template;
    private final String system;
    private final int maxNewTokens;
    private final String textColumn;
    private final boolean truncate;

    ChatPrompts(SharedModel model, PromptTemplate template, WoqSparkOptions options, boolean truncate) {
        this.model = model;
        this.template = template;
        this.system = options.systemPrompt();
        this.maxNewTokens = options.maxNewTokens();
        this.textColumn = options.textColumn();
        this.truncate = truncate;
    }

    /** The prompt's ids; with truncation, short enough to leave max_new_tokens in the context. */
    int[] ids(Map<String, String> values) throws BadRow {
        int[] ids = encode(values);
        int context = model.context();
        if (truncate && ids.length + maxNewTokens > context && values.containsKey(textColumn)) {
            ids = truncated(values, ids.length + maxNewTokens - context);
        }
        if (ids.length >= context) {
            throw new BadRow("the prompt has " + ids.length + " tokens but the model's context holds " + context
                    + " (and one must be left to generate): shorten it, or use long-input truncate or map-reduce");
        }
        return ids;
    }

    /** Tokens the text column may have so that the whole prompt leaves max_new_tokens: the budget of a part. */
    int textBudget(Map<String, String> values) {
        Map<String, String> empty = new HashMap<>(values);
        empty.put(textColumn, " ");
        return model.context() - maxNewTokens - encode(empty).length;
    }

    private int[] truncated(Map<String, String> values, int excess) throws BadRow {
        int[] text = model.tokenizer().encode(values.get(textColumn));
        Map<String, String> cut = new HashMap<>(values);
        int keep = text.length - excess;
        // Decoding a prefix and encoding it again can merge tokens differently: retry with what is still over.
        for (int attempt = 0; attempt < 4; attempt++) {
            if (keep < 1) {
                throw new BadRow("the prompt without column '" + textColumn + "' leaves no room in the model's context"
                        + " of " + model.context() + " tokens for max_new_tokens " + maxNewTokens);
            }
            cut.put(textColumn, prefix(text, keep));
            int[] ids = encode(cut);
            int over = ids.length + maxNewTokens - model.context();
            if (over <= 0) {
                return ids;
            }
            keep -= over;
        }
        return encode(cut);
    }

    /** The text of the first {@code n} tokens, without a character cut in half at the end. */
    String prefix(int[] text, int n) {
        String s = model.tokenizer().decode(Arrays.copyOf(text, n));
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        return s.substring(0, end);
    }

    int[] encode(Map<String, String> values) {
        List<Message> dialog = new ArrayList<>(2);
        if (system != null) {
            dialog.add(new Message(Role.SYSTEM, system));
        }
        dialog.add(new Message(Role.USER, template.render(values)));
        return model.chat.encodeDialogPrompt(dialog);
    }
}
