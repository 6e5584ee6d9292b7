package dev.woq.examples;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.StreamingDecoder;
import dev.woq.tokenizer.TokenizerException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Streams a Llama 3 chat reply to stdout with woq's Java API: load the model and its tokenizer,
 * format a system and a user message in Llama 3's chat format, and print each token's text as
 * soon as it is generated. Statistics go to stderr.
 *
 * <p>Run it from the repository root on a model directory in Hugging Face's layout, such as a
 * random-weight one from {@code ./woq synth --preset small --out /tmp/s}:
 *
 * <pre>
 * mvn -q -B -DskipTests install &amp;&amp; java -cp "examples/target/woq-examples.jar:examples/target/lib/*" dev.woq.examples.StreamingChat /tmp/s "Hello"
 * </pre>
 */
public final class StreamingChat {
    static final String SYSTEM_MESSAGE = "You are a helpful assistant. Keep your answers short.";
    static final String DEFAULT_MESSAGE = "Tell me about llamas.";

    private StreamingChat() {}

    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: StreamingChat MODEL_DIR [MESSAGE]");
            System.exit(2);
        }
        String message = args.length > 1 ? args[1] : DEFAULT_MESSAGE;
        GenerationResult r;
        try {
            r = chat(Path.of(args[0]), message, 256, System.out);
        } catch (WoqException | TokenizerException e) { // a bad path or file: the message says which and why
            System.err.println("error: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.err.printf(Locale.ROOT, "[prompt %d tokens at %.1f tok/s, reply %d tokens at %.1f tok/s, stop: %s]%n",
                r.promptIds().length, r.prefillTokensPerSecond(), r.generatedIds().length,
                r.decodeTokensPerSecond(), r.stopReason().name().toLowerCase(Locale.ROOT));
    }

    /** Generates a reply to {@code userMessage} with the model in {@code modelDir}, printing it to {@code out} as it comes. */
    public static GenerationResult chat(Path modelDir, String userMessage, int maxNewTokens, PrintStream out) {
        TorchRuntime torch = TorchRuntime.start(); // one thread per physical core
        try (Llama3Tokenizer tokenizer = Llama3Tokenizer.load(modelDir.resolve("tokenizer.json"));
                LlamaModel model = LlamaModel.load(torch, modelDir)) {
            Llama3ChatTemplate chat = new Llama3ChatTemplate(tokenizer);
            int[] prompt = chat.encodeDialogPrompt(List.of(
                    new Message(Role.SYSTEM, SYSTEM_MESSAGE),
                    new Message(Role.USER, userMessage)));

            // Llama 3 Instruct's sampling settings; a fixed seed makes runs repeatable. Generation
            // stops at the end of the assistant's turn (<|eot_id|>) or after maxNewTokens.
            GenerationConfig sampling = new GenerationConfig(
                    maxNewTokens, 0.6, 0, 0.9, 1.0, 42, chat.stopTokenIds());

            // Tokens are bytes, not characters: the decoder holds back a split UTF-8 character.
            StreamingDecoder decoder = new StreamingDecoder(tokenizer);
            GenerationResult result = new Generator(model).generate(prompt, sampling, id -> {
                out.print(decoder.push(id));
                out.flush();
            });
            out.println(decoder.flush());
            return result;
        }
    }
}
