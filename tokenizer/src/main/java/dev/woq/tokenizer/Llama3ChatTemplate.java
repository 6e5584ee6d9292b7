package dev.woq.tokenizer;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Llama 3's chat prompt format, token for token as Meta's reference {@code ChatFormat} in
 * {@code llama/tokenizer.py} of the meta-llama/llama3 repository builds it:
 *
 * <pre>
 * &lt;|begin_of_text|&gt;
 *   &lt;|start_header_id|&gt;system&lt;|end_header_id|&gt;\n\n{content.strip()}&lt;|eot_id|&gt;
 *   &lt;|start_header_id|&gt;user&lt;|end_header_id|&gt;\n\n{content.strip()}&lt;|eot_id|&gt;
 *   ...
 * &lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n
 * </pre>
 *
 * <p>It works on token ids, not on a rendered string, because the reference does: the role and
 * {@code "\n\n"} are encoded separately from the content, and the control tokens are inserted
 * by id. Content is encoded with {@link Llama3Tokenizer#encode(String)}, which like the reference
 * treats special-token spellings inside content as ordinary text.
 */
public final class Llama3ChatTemplate implements ChatFormat {

    /** Who speaks in a message; {@link #wireName()} is the text encoded in its header. */
    public enum Role {
        /** Instructions that frame the conversation. */
        SYSTEM("system"),
        /** The person talking to the model. */
        USER("user"),
        /** The model. */
        ASSISTANT("assistant"),
        /** Output of a tool call (Llama 3.1's code interpreter), fed back to the model. */
        IPYTHON("ipython");

        private final String wireName;

        Role(String wireName) {
            this.wireName = wireName;
        }

        /**
         * The role as it appears in the prompt.
         *
         * @return "system", "user", "assistant" or "ipython"
         */
        public String wireName() {
            return wireName;
        }
    }

    /**
     * One turn of a dialog.
     *
     * @param role who speaks
     * @param content what is said; leading and trailing whitespace is stripped when encoded
     */
    public record Message(Role role, String content) {
        /**
         * Rejects null parts, so a bad message fails where it is made.
         *
         * @param role who speaks
         * @param content what is said
         */
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }
    }

    private final Tokenizer tokenizer;
    private final int beginOfText;
    private final int endOfText;
    private final int startHeader;
    private final int endHeader;
    private final int endOfTurn;

    /**
     * Creates the template for a tokenizer, looking up its control tokens by name.
     *
     * @param tokenizer a Llama 3 tokenizer
     * @throws TokenizerException if the tokenizer lacks one of {@code <|begin_of_text|>},
     *     {@code <|end_of_text|>}, {@code <|start_header_id|>}, {@code <|end_header_id|>} or
     *     {@code <|eot_id|>}; the message names it
     */
    public Llama3ChatTemplate(Tokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.beginOfText = requireToken("<|begin_of_text|>");
        this.endOfText = requireToken("<|end_of_text|>");
        this.startHeader = requireToken("<|start_header_id|>");
        this.endHeader = requireToken("<|end_header_id|>");
        this.endOfTurn = requireToken("<|eot_id|>");
    }

    private int requireToken(String name) {
        return tokenizer.tokenId(name).orElseThrow(() -> new TokenizerException(
                "the tokenizer " + tokenizer.path() + " has no " + name + " token, which Llama 3's"
                        + " chat format needs; is it a Llama 3 (not Llama 2) tokenizer.json?"));
    }

    @Override
    public String name() {
        return "llama3";
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * Encodes a message header: {@code <|start_header_id|>} role {@code <|end_header_id|>}
     * {@code "\n\n"}.
     *
     * @param role the speaker
     * @return the header's token ids
     */
    public int[] encodeHeader(Role role) {
        Objects.requireNonNull(role, "role");
        IntList tokens = new IntList();
        appendHeader(tokens, role);
        return tokens.toArray();
    }

    /**
     * Encodes one message: its header, its stripped content and {@code <|eot_id|>}.
     *
     * @param message the message
     * @return its token ids
     */
    public int[] encodeMessage(Message message) {
        Objects.requireNonNull(message, "message");
        IntList tokens = new IntList();
        appendMessage(tokens, message);
        return tokens.toArray();
    }

    /**
     * Encodes a whole dialog as a prompt for the model's next turn: {@code <|begin_of_text|>},
     * every message, then an open assistant header for the model to complete.
     *
     * @param dialog the messages, oldest first
     * @return the prompt's token ids
     */
    @Override
    public int[] encodeDialogPrompt(List<Message> dialog) {
        Objects.requireNonNull(dialog, "dialog");
        IntList tokens = new IntList();
        tokens.add(beginOfText);
        for (Message message : dialog) {
            appendMessage(tokens, Objects.requireNonNull(message, "message in dialog"));
        }
        appendHeader(tokens, Role.ASSISTANT);
        return tokens.toArray();
    }

    /**
     * The tokens that end the model's turn, after which generation stops:
     * {@code <|end_of_text|>} and {@code <|eot_id|>}, as in Meta's {@code stop_tokens}.
     *
     * @return an immutable set of token ids
     */
    @Override
    public Set<Integer> stopTokenIds() {
        return Set.of(endOfText, endOfTurn);
    }

    /**
     * The id of {@code <|eot_id|>}, which closes every message.
     *
     * @return the token id
     */
    public int endOfTurnId() {
        return endOfTurn;
    }

    private void appendHeader(IntList tokens, Role role) {
        tokens.add(startHeader);
        tokens.addAll(tokenizer.encode(role.wireName()));
        tokens.add(endHeader);
        tokens.addAll(tokenizer.encode("\n\n"));
    }

    private void appendMessage(IntList tokens, Message message) {
        appendHeader(tokens, message.role());
        tokens.addAll(tokenizer.encode(PythonWhitespace.strip(message.content())));
        tokens.add(endOfTurn);
    }

    /** A growable int array, so prompts are built without boxing every id. */
    private static final class IntList {
        private int[] values = new int[64];
        private int size;

        void add(int value) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        void addAll(int[] more) {
            if (size + more.length > values.length) {
                values = java.util.Arrays.copyOf(values, Math.max(size * 2, size + more.length));
            }
            System.arraycopy(more, 0, values, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
