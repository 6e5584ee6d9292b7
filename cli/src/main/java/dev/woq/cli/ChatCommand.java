package dev.woq.cli;

import dev.woq.rag.DocumentIndex;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.SearchMode;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.chat.Conversation;
import dev.woq.runtime.LocalModel;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.Warmup;
import dev.woq.runtime.model.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq chat}: an interactive, multi-turn conversation in the model's chat format (Llama 3's or Llama 2's). */
@Command(
        name = "chat",
        mixinStandardHelpOptions = true,
        description = {
            "Chat with a model turn by turn, in the chat format of its template.",
            "On a terminal: line editing and history (arrow keys); Ctrl-C stops the reply in "
                    + "progress, Ctrl-D or /exit leaves. Piped: one user message per input line, "
                    + "replies on stdout.",
            "Each turn reuses the KV cache of the earlier ones; when the conversation outgrows "
                    + "--context, the oldest turns are dropped (never the system prompt).",
            "Commands: /reset, /system TEXT, /stats, /help, /exit.",
            "With --index DIR (made by 'woq index'), each message is a question over the documents: "
                    + "its best passages are retrieved and it is asked as 'woq ask' asks it, answered "
                    + "from them with [n] citations. Each question is asked on its own (earlier turns "
                    + "are not in the prompt); /sources lists the last answer's passages (n, file, "
                    + "page, score)."
        },
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq chat --model /tmp/s --stream",
            "  woq chat --model ~/models/Meta-Llama-3-8B-Instruct --dtype int4 \\",
            "      --system 'You are brief.' --stream",
            "  printf 'Hi!\\nAnd then?\\n' | woq chat --model /tmp/s --seed 1",
            "  woq chat --model llama3-8b --dtype int4 --index ~/idx --stream",
            "  printf 'How many vacation days?\\n/sources\\n' | \\",
            "      woq chat --model /tmp/s --index ~/idx --temperature 0"
        })
final class ChatCommand implements Callable<Integer> {
    /** Default context when the model's is larger: 8K tokens of KV cache is 1 GiB for Llama-3-8B. */
    static final int DEFAULT_CONTEXT = 8192;

    @Mixin
    WeightsOptions weights;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt for the whole conversation.")
    String system;

    @Option(names = "--stream", description = "Print tokens as they are generated (default: each reply whole).")
    boolean stream;

    @Option(names = "--context", paramLabel = "N",
            description = "Tokens the conversation may hold (default: the model's context, at most "
                    + DEFAULT_CONTEXT + ").")
    Integer context;

    @Option(names = "--index", paramLabel = "DIR",
            description = "Answer each message from this index's passages, as woq ask does (default: none, a"
                    + " plain conversation).")
    Path index;

    @Option(names = "--passages", paramLabel = "K", defaultValue = "4",
            description = "With --index: passages retrieved for each question (default: ${DEFAULT-VALUE}).")
    int passages;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "hybrid",
            description = "With --index: retrieval, hybrid, vector or bm25 (default: ${DEFAULT-VALUE}).")
    String mode;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        GenerationConfig config = sampling.config(Set.of()); // checks the values before loading
        if (context != null && context < 16) {
            throw new WoqException("--context must be at least 16 tokens, got " + context);
        }
        if (index != null) {
            return documentChat(config, err);
        }
        Path dir = weights.resolve(err);
        Path tokenizerFile = LocalModel.tokenizerFile(dir, tokenizerOption.file);
        try (LocalModel local = LocalModel.load(dir, tokenizerFile, runtime.threads)) {
            LlamaModel model = local.model();
            runtime.applyTo(model);
            int max = model.config().maxPositionEmbeddings();
            int size = context != null ? context : Math.min(max, DEFAULT_CONTEXT);
            if (size > max) {
                throw new WoqException("--context " + size + " is more than the model's context of " + max + " tokens");
            }
            err.printf(Locale.ROOT, "woq: %s; context %,d tokens; seed %d%n", local.describe(), size, sampling.seed());
            err.flush();
            // The first reply would otherwise pay for the first touch of every weight and kernel.
            long warm = Warmup.run(model);
            err.printf(Locale.ROOT, "woq: ready (warmed up in %.1f s)%n", warm / 1e9);
            err.flush();
            try (Conversation conversation = new Conversation(model, local.chatFormat(), size);
                    ChatConsole console = openConsole()) {
                conversation.setSystemPrompt(system);
                if (console.interactive()) {
                    console.out().println("Type a message; /help lists the commands, Ctrl-D leaves.");
                    console.out().flush();
                }
                return new ChatLoop(conversation, config, console, err, stream).run();
            }
        }
    }

    /** {@code --index}: the index is opened (and checked) before the model loads. */
    private int documentChat(GenerationConfig config, PrintWriter err) {
        if (system != null) {
            throw new WoqException("--system cannot be used with --index: the answers follow woq ask's"
                    + " instructions (answer from the passages, cite them as [n])");
        }
        if (passages < 1) {
            throw new WoqException("--passages must be at least 1, got " + passages);
        }
        SearchMode searchMode = SearchCommand.parseMode(mode);
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(runtime.threads);
                DocumentIndex idx = DocumentIndex.open(index, minilm)) {
            int count = idx.passageCount();
            Path dir = weights.resolve(err);
            try (LocalModel local = LocalModel.load(dir, LocalModel.tokenizerFile(dir, tokenizerOption.file),
                    runtime.threads)) {
                runtime.applyTo(local.model());
                err.printf(Locale.ROOT, "woq: %s; index %s: %,d passages, %d per question (%s); seed %d%n",
                        local.describe(), index, count, passages, searchMode.name().toLowerCase(Locale.ROOT),
                        sampling.seed());
                err.flush();
                long warm = Warmup.run(local.model());
                err.printf(Locale.ROOT, "woq: ready (warmed up in %.1f s)%n", warm / 1e9);
                err.flush();
                try (ChatConsole console = openConsole()) {
                    if (console.interactive()) {
                        console.out().println("Ask about the documents; /sources shows where the last answer"
                                + " came from, /help lists the commands, Ctrl-D leaves.");
                        console.out().flush();
                    }
                    DocumentTurns turns = new DocumentTurns(idx, local, passages, searchMode, config);
                    return new ChatLoop(turns, console, err, stream).run();
                }
            }
        }
    }

    /** JLine on a terminal; plain streams when input or output is redirected (and in tests). */
    private ChatConsole openConsole() {
        if (System.console() != null) {
            Path history = weights.home.dir().resolve("chat_history");
            return new TerminalConsole(history);
        }
        return new StreamConsole(System.in, spec.commandLine().getOut());
    }
}
