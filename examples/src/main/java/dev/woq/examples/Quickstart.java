package dev.woq.examples;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.ModelRegistry;
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
 * The whole woq flow in one program: quantize a model to int4 into the registry (once: a second
 * run finds the entry and reuses it), load the quantized weights and stream a chat reply.
 *
 * <p>From the repository root, on any Hugging Face Llama 3 directory (here a random-weight one):
 *
 * <pre>
 * ./woq synth --preset small --out /tmp/s
 * java -cp "examples/target/woq-examples.jar:examples/target/lib/*" dev.woq.examples.Quickstart /tmp/s "Hello"
 * </pre>
 *
 * The registry is {@code $WOQ_HOME} ({@code ~/.woq} by default).
 */
public final class Quickstart {
    private Quickstart() {}

    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Quickstart MODEL_DIR [MESSAGE]");
            System.exit(2);
        }
        try {
            run(ModelRegistry.atDefaultHome(), Path.of(args[0]), args.length > 1 ? args[1] : "Tell me about llamas.",
                    System.out, System.err);
        } catch (WoqException | TokenizerException e) { // a bad path or file: the message says which and why
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Quantizes {@code modelDir} into {@code registry} if needed, then streams a reply to {@code out}. */
    public static GenerationResult run(ModelRegistry registry, Path modelDir, String message, PrintStream out, PrintStream log) {
        // 1. Quantize once. Streaming, one tensor at a time; the entry appears only when complete.
        Entry entry = registry.getOrCreate(modelDir, QuantRecipe.parse("int4", null, false), false,
                (done, total, bytes, totalBytes) -> {}, note -> log.println("woq: " + note));
        log.println("woq: int4 weights in " + entry.dir());

        // 2. Load the quantized weights (mapped, repacked for this CPU) and the tokenizer.
        TorchRuntime torch = TorchRuntime.start();
        try (LlamaModel model = LlamaModel.load(torch, entry.dir());
                Llama3Tokenizer tokenizer = Llama3Tokenizer.load(entry.dir().resolve("tokenizer.json"))) {
            // 3. Stream the reply to one user message in Llama 3's chat format.
            Llama3ChatTemplate chat = new Llama3ChatTemplate(tokenizer);
            int[] prompt = chat.encodeDialogPrompt(List.of(new Message(Role.USER, message)));
            StreamingDecoder text = new StreamingDecoder(tokenizer);
            GenerationResult r = new Generator(model).generate(prompt,
                    new GenerationConfig(64, 0.6, 0, 0.9, 1.0, 42, chat.stopTokenIds()), id -> {
                        out.print(text.push(id));
                        out.flush();
                    });
            out.println(text.flush());
            log.printf(Locale.ROOT, "woq: %s, %d tokens at %.1f tok/s, first after %.0f ms%n", model.weightFormat(),
                    r.generatedIds().length, r.decodeTokensPerSecond(), r.timeToFirstTokenNanos() / 1e6);
            return r;
        }
    }
}
