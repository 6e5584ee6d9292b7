package dev.woq.runtime.chat;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.generate.StopReason;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.ChatFormats;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.StreamingDecoder;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.TokenizerException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A multi-turn chat with one model in its chat format (Llama 3's or Llama 2's).
 *
 * <p>The dialog is kept as token ids, exactly as the model saw and wrote them, so each turn's
 * prompt starts with the ids already in the KV cache: only the new user message (and the last
 * token of the previous reply) is computed. When the dialog would not leave room for a reply in
 * the context, the oldest turns are dropped, never the system prompt; the positions after it
 * then change, so that one turn recomputes the history it keeps.
 *
 * <p>Llama 2's format puts the system prompt inside the first user message, and its reference
 * renders the history from text every turn; so in that format each prompt is the format's
 * encoding of the whole dialog, and the KV cache is kept for the prefix it shares with the last.
 *
 * <p>Not thread-safe: one conversation per user.
 */
public final class Conversation implements AutoCloseable {
    private final Tokenizer tokenizer;
    private final ChatFormat format;
    /** The format when it is Llama 3's, whose dialog is kept as the very ids; else null. */
    private final Llama3ChatTemplate template;
    private final Generator generator;
    private final InferenceSession session;
    private final int beginOfText;
    /** The ids whose keys and values the session holds, position by position. */
    private final IntSeq cached = new IntSeq();
    private final List<Turn> turns = new ArrayList<>();
    private String systemPrompt;
    private int[] systemIds = new int[0];

    /**
     * A user message and the reply, as ids: user message, assistant header, reply,
     * {@code <|eot_id|>} (for Llama 2: the exchange as the format encodes it alone).
     */
    private record Turn(String user, String assistant, int[] ids) {}

    /**
     * Starts an empty conversation in the default format of the tokenizer's family.
     *
     * @param model the model; the conversation allocates its own KV cache
     * @param tokenizer the model's tokenizer
     * @param contextTokens how many tokens the conversation may hold, at most the model's context
     */
    public Conversation(LlamaModel model, Tokenizer tokenizer, int contextTokens) {
        this(model, ChatFormats.defaultFor(tokenizer), contextTokens);
    }

    /**
     * Starts an empty conversation.
     *
     * @param model the model; the conversation allocates its own KV cache
     * @param format the model's chat format ({@link dev.woq.runtime.LocalModel#chatFormat()})
     * @param contextTokens how many tokens the conversation may hold, at most the model's context
     */
    public Conversation(LlamaModel model, ChatFormat format, int contextTokens) {
        Objects.requireNonNull(model, "model");
        this.format = Objects.requireNonNull(format, "format");
        this.tokenizer = format.tokenizer();
        int max = model.config().maxPositionEmbeddings();
        if (contextTokens < 16 || contextTokens > max) {
            throw new WoqException("The chat context must be 16.." + max + " tokens (the model's context), got " + contextTokens);
        }
        this.template = format instanceof Llama3ChatTemplate llama3 ? llama3 : null;
        this.generator = new Generator(model);
        this.beginOfText = model.config().bosTokenId();
        this.session = model.newSession(contextTokens);
    }

    /**
     * Sets the system prompt, which frames every later turn and is never dropped; null or blank
     * removes it. The turns so far are kept.
     */
    public void setSystemPrompt(String text) {
        if (text == null || text.isBlank()) {
            systemPrompt = null;
            systemIds = new int[0];
        } else {
            systemPrompt = text;
            // Llama 2: the system block's own ids, to budget the context; the prompt holds it inside the first turn.
            systemIds = template != null ? template.encodeMessage(new Message(Role.SYSTEM, text))
                    : tokenizer.encode("<<SYS>>\n" + text + "\n<</SYS>>\n\n");
        }
    }

    public Optional<String> systemPrompt() {
        return Optional.ofNullable(systemPrompt);
    }

    /** Forgets the turns and keeps the system prompt (whose cached keys and values stay useful). */
    public void reset() {
        turns.clear();
    }

    /** The dialog so far, oldest first, starting with the system prompt if there is one. */
    public List<Message> messages() {
        List<Message> out = new ArrayList<>();
        if (systemPrompt != null) {
            out.add(new Message(Role.SYSTEM, systemPrompt));
        }
        for (Turn t : turns) {
            out.add(new Message(Role.USER, t.user()));
            out.add(new Message(Role.ASSISTANT, t.assistant()));
        }
        return out;
    }

    /** Tokens the conversation holds: begin-of-text, system prompt and turns. */
    public int contextUsed() {
        int n = (template != null ? 1 : 0) + systemIds.length;
        for (Turn t : turns) {
            n += t.ids().length;
        }
        return n;
    }

    /** Tokens the conversation may hold. */
    public int contextSize() {
        return session.capacity();
    }

    /**
     * Sends a user message and generates the reply, streaming its text.
     *
     * @param userText what the user says
     * @param config sampling and length; the chat format's stop tokens are added to its own
     * @param text receives the reply's text as it is generated, never half a UTF-8 character
     * @param cancelled asked after every token; true ends the reply there (it is kept, as shown)
     * @return the reply and its costs
     * @throws WoqException if the message cannot fit in the context even with every earlier turn dropped
     */
    public ChatReply reply(String userText, GenerationConfig config, Consumer<String> text, BooleanSupplier cancelled) {
        int[] userIds;
        int[] header;
        int[] prompt;
        int dropped;
        if (template != null) {
            userIds = template.encodeMessage(new Message(Role.USER, userText));
            header = template.encodeHeader(Role.ASSISTANT);
            dropped = dropOldestTurnsToFit(userIds.length + header.length, Math.min(config.maxNewTokens(), contextSize() / 2));
            IntSeq target = new IntSeq();
            target.add(beginOfText);
            target.addAll(systemIds);
            for (Turn t : turns) {
                target.addAll(t.ids());
            }
            target.addAll(userIds);
            target.addAll(header);
            prompt = target.toArray();
        } else {
            userIds = encodeDialog(List.of(new Message(Role.USER, userText)));
            header = new int[0];
            dropped = dropOldestTurnsToFit(userIds.length, Math.min(config.maxNewTokens(), contextSize() / 2));
            List<Message> dialog = new ArrayList<>(messages());
            dialog.add(new Message(Role.USER, userText));
            prompt = encodeDialog(dialog);
            if (prompt.length + 1 > contextSize()) {
                throw new WoqException("The dialog needs " + (prompt.length + 1) + " tokens of context, but the"
                        + " conversation holds " + contextSize() + ": shorten it, or use a larger context");
            }
        }

        // Keep the longest cached prefix; at least one token must be computed to get logits.
        int keep = Math.min(cached.commonPrefix(prompt), prompt.length - 1);
        session.truncate(keep);
        cached.truncate(keep);
        int[] fresh = Arrays.copyOfRange(prompt, keep, prompt.length);

        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        StringBuilder reply = new StringBuilder();
        GenerationResult result = generator.continueSession(
                session, fresh, config.withStopTokens(format.stopTokenIds()), id -> {
                    String piece = decoder.push(id);
                    if (!piece.isEmpty()) {
                        reply.append(piece);
                        text.accept(piece);
                    }
                }, cancelled);
        String tail = decoder.flush();
        if (!tail.isEmpty()) {
            reply.append(tail);
            text.accept(tail);
        }

        int[] generated = result.generatedIds();
        cached.addAll(prompt, keep, prompt.length);
        cached.addAll(generated, 0, session.position() - prompt.length);

        if (template == null) {
            // Llama 2: the exchange as the format encodes it alone, to budget the context.
            int[] exchange = encodeDialog(List.of(new Message(Role.USER, userText)));
            int replyTokens = tokenizer.encode(reply.toString()).length + 2;
            turns.add(new Turn(userText, reply.toString(), new int[exchange.length + replyTokens]));
            return new ChatReply(reply.toString(), result, keep, dropped, contextUsed(), contextSize());
        }
        int[] content = result.stopReason() == StopReason.STOP_TOKEN
                ? Arrays.copyOf(generated, generated.length - 1)
                : generated;
        IntSeq turnIds = new IntSeq();
        turnIds.addAll(userIds);
        turnIds.addAll(header);
        turnIds.addAll(content);
        turnIds.add(template.endOfTurnId());
        turns.add(new Turn(userText, reply.toString(), turnIds.toArray()));
        return new ChatReply(reply.toString(), result, keep, dropped, contextUsed(), contextSize());
    }

    /**
     * Drops the oldest turns until the dialog, a new message of {@code newTokens} and a reply of
     * {@code reserve} tokens fit. Returns how many turns went. Refuses, changing nothing, a
     * message that does not fit even alone.
     */
    private int dropOldestTurnsToFit(int newTokens, int reserve) {
        int used = contextUsed();
        int drop = 0;
        while (drop < turns.size() && used + newTokens + reserve > contextSize()) {
            used -= turns.get(drop).ids().length;
            drop++;
        }
        if (used + newTokens + 1 > contextSize()) {
            throw new WoqException("The message needs " + (used + newTokens + 1) + " tokens of context with the "
                    + "system prompt (" + systemIds.length + " tokens), but the conversation holds " + contextSize()
                    + ": shorten it, or use a larger context");
        }
        turns.subList(0, drop).clear();
        return drop;
    }

    /** The format's encoding of a dialog; a dialog it cannot express is the caller's error. */
    private int[] encodeDialog(List<Message> dialog) {
        try {
            return format.encodeDialogPrompt(dialog);
        } catch (TokenizerException e) {
            throw new WoqException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        session.close();
    }

    /** A growable int array. */
    private static final class IntSeq {
        private int[] values = new int[256];
        private int size;

        void add(int v) {
            grow(1);
            values[size++] = v;
        }

        void addAll(int[] more) {
            addAll(more, 0, more.length);
        }

        void addAll(int[] more, int from, int to) {
            grow(to - from);
            System.arraycopy(more, from, values, size, to - from);
            size += to - from;
        }

        int commonPrefix(int[] other) {
            int n = Math.min(size, other.length);
            int i = 0;
            while (i < n && values[i] == other[i]) {
                i++;
            }
            return i;
        }

        void truncate(int keep) {
            size = keep;
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }

        private void grow(int more) {
            if (size + more > values.length) {
                values = Arrays.copyOf(values, Math.max(values.length * 2, size + more));
            }
        }
    }
}
