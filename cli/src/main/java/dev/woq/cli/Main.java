package dev.woq.cli;

import dev.woq.runtime.WoqException;
import dev.woq.tokenizer.TokenizerException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code woq} command. */
@Command(
        name = "woq",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Llama on CPUs from Java: bf16, or weight-only int8/int4 from a local registry.",
        subcommands = {SynthCommand.class, GenerateCommand.class, ChatCommand.class, QuantizeCommand.class,
            RegistryCommand.class, BenchCommand.class, ServeCommand.class, EvalCommand.class, ExportCommand.class,
            ImportCommand.class, IndexCommand.class, SearchCommand.class, AskCommand.class, BatchCommand.class,
            CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        // Help is wrapped at 80 columns: every example line must fit, or picocli breaks it mid-command.
        footer = {
            "  scripts/fetch-tokenizer.sh              # once: the Llama 3 tokenizer",
            "  woq synth --preset small --out /tmp/s   # a random-weight Llama 3 checkpoint",
            "  woq generate --model /tmp/s --chat --prompt 'Hello!' --stream",
            "  woq generate --model ~/models/Meta-Llama-3-8B-Instruct \\",
            "      --chat --prompt 'Hi' --stream",
            "  woq chat --model /tmp/s --dtype int4 --stream",
            "  woq quantize --model /tmp/s --dtype int4   # into ~/.woq/registry",
            "  woq registry list                       # quantized models",
            "  woq bench --model /tmp/s                # bf16, int8, int4 side by side",
            "  woq eval --model /tmp/s --dtype int4 --text t.txt --reference bf16",
            "  woq serve --model /tmp/s --dtype int4   # OpenAI's API on localhost:8080",
            "  woq export --model /tmp/s --out /tmp/s.gguf   # for llama.cpp",
            "  woq import --gguf model.Q4_K_M.gguf --dtype int4",
            "  woq index --index ~/idx docs/           # PDFs, .txt, .md for questions",
            "  woq ask --index ~/idx --model /tmp/s --stream 'What is covered?'",
            "  woq batch --model /tmp/s --input book.txt --split-regex 'CHAPTER .+' \\",
            "      --output summaries.parquet          # a prompt per row, on Spark",
            "  woq help generate"
        })
public final class Main {
    /** Exit code of a user error woq explains (bad file, bad value). */
    static final int EXIT_USER_ERROR = 1;
    /** Exit code of an unexpected failure: a bug. */
    static final int EXIT_INTERNAL_ERROR = 70;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code execute} on it. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (e instanceof WoqException || e instanceof TokenizerException) {
                err.println("woq: " + e.getMessage());
                err.flush();
                return EXIT_USER_ERROR;
            }
            if (System.getenv("WOQ_DEBUG") != null) {
                e.printStackTrace(err);
            } else {
                err.println("woq: internal error: " + e + " (set WOQ_DEBUG=1 for the stack trace)");
            }
            err.flush();
            return EXIT_INTERNAL_ERROR;
        });
        return cli;
    }
}
