package dev.woq.cli;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.runtime.synth.SyntheticWeights;
import dev.woq.runtime.util.Trees;
import dev.woq.tokenizer.TokenizerLocations;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq synth}: a random-weight Llama 3 checkpoint for tests and benchmarks. */
@Command(
        name = "synth",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        // A summary line (woq --help lists it), then one paragraph that picocli wraps at word
        // boundaries (an element per line would each be wrapped on its own, breaking them).
        description = {
            "Write a random-weight Llama 3 checkpoint for tests and benchmarks.",
            "The exact Hugging Face layout of Llama 3 (config.json, generation_config.json, tokenizer"
                    + " files, bf16 safetensors, sharded with an index when large). Presets: tiny (66 MB),"
                    + " small (290 MB), llama3-8b (16 GB, the shape of Meta-Llama-3-8B-Instruct), llama3.2-1b (2.5 GB,"
                    + " Llama-3.2-1B-Instruct's: rope scaling, tied embeddings, 128k context), llama2-7b (13.5 GB,"
                    + " Llama-2-7b-chat's shape; no tokenizer unless --tokenizer gives a Llama 2 one). Weights"
                    + " are random: the text is noise, the speed and memory are real. --weights llm-like draws"
                    + " them as trained Llama weights look (heavy tails, outlier input channels, per-matrix"
                    + " scales), so that quantizers compare as they would on real weights."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq synth --preset small --out /tmp/s",
            "  woq synth --preset llama3-8b --out models/llama3-8b --seed 1",
            "  woq synth --preset small --weights llm-like --out /tmp/s-llm"
        })
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--preset", required = true, paramLabel = "NAME",
            description = "tiny, small, llama3-8b, llama3.2-1b or llama2-7b.")
    String preset;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Directory to create (must not exist, unless --force).")
    Path out;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Seed of the random weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--weights", paramLabel = "KIND", defaultValue = "random",
            description = "random (Gaussian), llm-like (heavy tails, outlier channels, per-matrix scales) or"
                    + " llm-like-outliers (llm-like, and the same few hidden channels 8x louder in every norm, the"
                    + " outlier features activation-aware quantization is for) (default: ${DEFAULT-VALUE}).")
    String weights;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to include (default: the one scripts/fetch-tokenizer.sh caches).")
    Path tokenizer;

    @Option(names = "--force",
            description = "Replace --out if it already holds a checkpoint (a directory with config.json).")
    boolean force;

    @Option(names = "--shard-size", paramLabel = "BYTES", defaultValue = "5000000000",
            description = "Largest shard in bytes; more is split with an index (default: ${DEFAULT-VALUE}).")
    long shardSize;

    /** Output goes through the command line's writers (stdout and stderr in {@code main}), so tests can capture it. */
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        SyntheticPreset p = SyntheticPreset.parse(preset);
        SyntheticWeights kind = SyntheticWeights.parse(weights);
        if (shardSize < 1) {
            throw new WoqException("--shard-size must be positive, got " + shardSize);
        }
        // Llama 3's tokenizer fits Llama 3's vocabulary only; Llama 2's SentencePiece file is not bundled
        boolean llama3Vocab = p.config().vocabSize() == SyntheticPreset.LLAMA3_VOCAB;
        Path tok = tokenizer != null ? tokenizer : llama3Vocab ? TokenizerLocations.requireDefaultTokenizerJson() : null;
        if (tok == null) {
            stderr.println("woq: no tokenizer written: " + p.cliName() + " has a " + p.config().vocabSize()
                    + "-token vocabulary, not Llama 3's; pass --tokenizer with its tokenizer.json, or run it by ids"
                    + " (--prompt-ids)");
        }
        Progress progress = Progress.onTerminal("writing " + p.cliName(), stderr);
        long start = System.nanoTime();
        if (force && Files.exists(out)) {
            replaceable(out);
            deleteTree(out);
        }
        SyntheticCheckpoint.write(out, p.config(), seed, SyntheticCheckpoint.HF_INIT_STD, kind, tok, shardSize,
                progress::update);
        progress.finish();
        double seconds = (System.nanoTime() - start) / 1e9;
        stderr.printf(Locale.ROOT, "woq: wrote %s checkpoint (%s weights) to %s in %.1f s%n", p.cliName(), kind,
                out, seconds);
        stderr.flush();
        stdout.println(out);
        stdout.flush();
        return 0;
    }

    /** --force deletes only what is clearly a checkpoint, never an arbitrary directory. */
    private static void replaceable(Path out) {
        if (!Files.isDirectory(out) || !Files.isRegularFile(out.resolve("config.json"))) {
            throw new WoqException(out + " exists and is not a checkpoint directory (no config.json): "
                    + "--force only replaces checkpoints; remove it yourself or choose another --out");
        }
    }

    private static void deleteTree(Path dir) {
        try {
            Trees.delete(dir);
        } catch (IOException e) {
            throw new WoqException("Cannot remove the old checkpoint " + dir + ": " + e.getMessage());
        }
    }
}
