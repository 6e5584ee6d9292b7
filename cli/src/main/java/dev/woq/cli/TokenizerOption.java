package dev.woq.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --tokenizer}: another tokenizer.json than the model directory's. */
final class TokenizerOption {
    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use (default: the model directory's).")
    Path file;
}
