package dev.woq.examples;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.chat.ChatReply;
import dev.woq.runtime.chat.Conversation;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.TokenizerException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A multi-turn conversation through the Java API: {@link Conversation} keeps the dialog, reuses
 * the KV cache of earlier turns (so a later turn computes only its own message) and drops the
 * oldest turns when the context fills. Each reply is streamed; after it, how many prompt tokens
 * were computed and how many came from the cache.
 *
 * <pre>
 * java -cp "examples/target/woq-examples.jar:examples/target/lib/*" dev.woq.examples.MultiTurnChat /tmp/s \
 *     "Hi, who are you?" "What can you do?" "Thanks!"
 * </pre>
 */
public final class MultiTurnChat {
    static final List<String> DEFAULT_MESSAGES = List.of(
            "Hi! What is a llama?", "How is it different from an alpaca?", "Which one makes a better pet?");

    private MultiTurnChat() {}

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: MultiTurnChat MODEL_DIR [MESSAGE...]");
            System.exit(2);
        }
        List<String> messages = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : DEFAULT_MESSAGES;
        try {
            run(Path.of(args[0]), messages, System.out, System.err);
        } catch (WoqException | TokenizerException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Sends {@code messages} one after the other, streaming each reply to {@code out}. */
    public static List<ChatReply> run(Path modelDir, List<String> messages, PrintStream out, PrintStream log) {
        TorchRuntime torch = TorchRuntime.start();
        try (LlamaModel model = LlamaModel.load(torch, modelDir);
                Llama3Tokenizer tokenizer = Llama3Tokenizer.load(modelDir.resolve("tokenizer.json"));
                Conversation chat = new Conversation(model, tokenizer, 4096)) {
            chat.setSystemPrompt("You are a friendly assistant. Keep answers short.");
            GenerationConfig sampling = new GenerationConfig(48, 0.6, 0, 0.9, 1.0, 42, Set.of());
            List<ChatReply> replies = new ArrayList<>();
            for (String message : messages) {
                out.println("> " + message);
                ChatReply reply = chat.reply(message, sampling, piece -> {
                    out.print(piece);
                    out.flush();
                }, () -> false);
                out.println();
                log.printf(Locale.ROOT, "[%d prompt tokens computed, %d reused from the cache; first token after %.0f ms;"
                                + " context %d of %d]%n", reply.prefilledTokens(), reply.reusedTokens(),
                        reply.generation().timeToFirstTokenNanos() / 1e6, reply.contextUsed(), reply.contextSize());
                replies.add(reply);
            }
            return replies;
        }
    }
}
