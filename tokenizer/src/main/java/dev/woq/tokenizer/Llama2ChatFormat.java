package dev.woq.tokenizer;

import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Llama 2's chat format, as Meta's reference ({@code chat_completion} in {@code llama/generation.py}
 * of meta-llama/llama) and Hugging Face's {@code chat_template} for Llama-2-*-chat render it:
 *
 * <pre>
 * &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;&lt;s&gt;[INST] {user} [/INST]
 * </pre>
 *
 * <p>The system prompt goes inside the first user message; each message is stripped (the first
 * one together with the system block); every exchange is its own SentencePiece piece of text,
 * with {@code <s>} before and {@code </s>} after by id, never by spelling. The model's turn ends
 * with {@code </s>}.
 */
public final class Llama2ChatFormat implements ChatFormat {

    private static final String B_INST = "[INST]";
    private static final String E_INST = "[/INST]";
    private static final String B_SYS = "<<SYS>>\n";
    private static final String E_SYS = "\n<</SYS>>\n\n";

    private final Tokenizer tokenizer;
    private final int bos;
    private final int eos;

    /**
     * Creates the format for a tokenizer, looking up {@code <s>} and {@code </s>}.
     *
     * @param tokenizer a Llama 2 tokenizer
     * @throws TokenizerException if the tokenizer lacks {@code <s>} or {@code </s>}
     */
    public Llama2ChatFormat(Tokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.bos = requireToken("<s>");
        this.eos = requireToken("</s>");
    }

    private int requireToken(String name) {
        return tokenizer.tokenId(name).orElseThrow(() -> new TokenizerException(
                "the tokenizer " + tokenizer.path() + " has no " + name + " token, which Llama 2's"
                        + " chat format needs; is it a Llama 2 (not Llama 3) tokenizer?"));
    }

    @Override
    public String name() {
        return "llama2";
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int[] encodeDialogPrompt(List<Message> dialog) {
        Objects.requireNonNull(dialog, "dialog");
        String system = null;
        int first = 0;
        if (!dialog.isEmpty() && dialog.get(0).role() == Role.SYSTEM) {
            system = dialog.get(0).content();
            first = 1;
        }
        int[] out = new int[0];
        for (int i = first; i < dialog.size(); i += 2) {
            Message user = dialog.get(i);
            if (user.role() != Role.USER) {
                throw misordered(i, user.role());
            }
            String content = i == first && system != null ? B_SYS + system + E_SYS + user.content() : user.content();
            String text = B_INST + " " + PythonWhitespace.strip(content) + " " + E_INST;
            if (i + 1 < dialog.size()) {
                Message assistant = dialog.get(i + 1);
                if (assistant.role() != Role.ASSISTANT) {
                    throw misordered(i + 1, assistant.role());
                }
                text += " " + PythonWhitespace.strip(assistant.content()) + " ";
                out = append(out, bos, tokenizer.encode(text), eos);
            } else {
                out = append(out, bos, tokenizer.encode(text), -1);
            }
        }
        if (dialog.size() == first || dialog.get(dialog.size() - 1).role() != Role.USER) {
            throw new TokenizerException("Llama 2's chat format needs the dialog to end with a user"
                    + " message, for the model to answer it");
        }
        return out;
    }

    /**
     * {@code </s>}, as Meta's reference stops at the tokenizer's end-of-sequence token.
     */
    @Override
    public Set<Integer> stopTokenIds() {
        return Set.of(eos);
    }

    private static TokenizerException misordered(int index, Role role) {
        return new TokenizerException("Llama 2's chat format needs an optional system message first,"
                + " then user and assistant messages in turn; message " + index + " is from "
                + role.wireName());
    }

    private static int[] append(int[] out, int before, int[] ids, int after) {
        int extra = ids.length + 1 + (after >= 0 ? 1 : 0);
        int[] grown = Arrays.copyOf(out, out.length + extra);
        int at = out.length;
        grown[at++] = before;
        System.arraycopy(ids, 0, grown, at, ids.length);
        at += ids.length;
        if (after >= 0) {
            grown[at] = after;
        }
        return grown;
    }
}
