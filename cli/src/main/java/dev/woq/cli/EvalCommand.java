package dev.woq.cli;

import com.google.gson.JsonObject;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.eval.EvalResult;
import dev.woq.runtime.eval.TextEvaluator;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.quant.Int4Search;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.WeightSqnr;
import dev.woq.runtime.util.ProcessMemory;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.Tokenizers;
import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code woq eval}: perplexity of a model over a text file and, with {@code --reference}, how far
 * its next-token distributions are from the reference's on the same tokens (KL divergence, top-1
 * agreement, logits cosine), as llama.cpp's {@code llama-perplexity --kl-divergence}.
 */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Perplexity over a text; KL divergence to a reference model.",
            "The text is tokenized with the model's tokenizer and cut into windows of --context tokens"
                    + " (BOS first, a shorter tail dropped); the second half of every window is scored, as"
                    + " llama.cpp's llama-perplexity does. With --reference, the reference weights (e.g. bf16)"
                    + " run on the same windows and the next-token distributions are compared: mean, median,"
                    + " 99th percentile and largest KL(reference || model), top-1 agreement, logits cosine."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq eval --model /tmp/s --dtype int4 --text notes.txt --reference bf16",
            "  woq eval --model /tmp/s --dtype int4 --group-size 32 --text notes.txt \\",
            "      --reference bf16 --context 256 --json",
            "  woq eval --model /tmp/s --dtype int4 --int4-search none --text notes.txt \\",
            "      --reference bf16                 # int4 rounded to nearest",
            "  woq eval --model /tmp/s --dtype int4 --calibration prompts.txt --text notes.txt \\",
            "      --reference bf16                 # int4-q32-cal",
            "  woq eval --model /tmp/s --text notes.txt      # bf16 perplexity only"
        })
final class EvalCommand implements Callable<Integer> {
    @Mixin
    WeightsOptions weights;

    @Option(names = "--text", required = true, paramLabel = "FILE",
            description = "UTF-8 text to score (at least one window of --context tokens).")
    Path text;

    @Option(names = "--reference", paramLabel = "DTYPE",
            description = "Compare with the same model in this dtype (bf16, int8 or int4; default: none,"
                    + " perplexity only).")
    String reference;

    @Option(names = "--int4-search", paramLabel = "KIND",
            description = "With --dtype int4: the entry quantized with mse or none (round to nearest)"
                    + " (default: mse).")
    String int4Search;

    @Mixin
    CalibrationOptions calibration;

    @Option(names = "--context", paramLabel = "N", defaultValue = "512",
            description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--weight-sqnr",
            description = "Also report the weight SQNR (dB) of the quantized projections against the bf16 source"
                    + " (reads both checkpoints once more).")
    boolean weightSqnr;

    @Option(names = "--json", description = "Print one JSON object with every figure.")
    boolean json;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isRegularFile(text)) {
            throw new WoqException("No text file at " + text + ": pass --text FILE, a UTF-8 text to score.");
        }
        if (context < TextEvaluator.MIN_CONTEXT) {
            throw new WoqException("--context " + context + " is too small: a window needs at least "
                    + TextEvaluator.MIN_CONTEXT + " tokens.");
        }
        WeightFormat format = weights.format();
        WeightFormat referenceFormat = reference == null ? null : WeightFormat.parse(reference, null);
        Path dir;
        String dtypeName = format.id();
        if (int4Search != null || calibration.text != null || calibration.tokens != null) {
            if (!format.dtype().equals("int4")) {
                throw new WoqException((int4Search != null ? "--int4-search" : "--calibration")
                        + " applies to --dtype int4, not " + format.id() + ".");
            }
            QuantRecipe recipe = calibration.apply(QuantRecipe.parse("int4", weights.groupSize, false,
                    int4Search == null ? null : Int4Search.parse(int4Search)));
            dtypeName = recipe.id();
            dir = WeightsOptions.resolve(weights.model, recipe, weights.home.registry(), err);
        } else {
            dir = weights.resolve(err);
        }
        Path referenceDir = referenceFormat == null ? null
                : WeightsOptions.resolve(weights.model, referenceFormat, weights.home.registry(), err);

        Double sqnr = null;
        if (weightSqnr) {
            if (!format.quantized()) {
                throw new WoqException("--weight-sqnr needs a quantized --dtype (int8 or int4), not " + format.id() + ".");
            }
            sqnr = WeightSqnr.measure(WeightsOptions.resolve(weights.model, WeightFormat.parse("bf16", null),
                    weights.home.registry(), err), dir);
        }

        int[] tokens;
        Path tokenizerFile = tokenizerOption.file != null ? tokenizerOption.file : dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new WoqException("No tokenizer at " + tokenizerFile
                    + ": the model directory needs tokenizer.json, or pass --tokenizer FILE");
        }
        try (Tokenizer tokenizer = Tokenizers.load(tokenizerFile)) {
            tokens = tokenizer.encode(Files.readString(text, StandardCharsets.UTF_8));
        }

        long start = System.nanoTime();
        TorchRuntime torch = TorchRuntime.start(runtime.threads);
        try (LlamaModel model = LlamaModel.load(torch, dir);
                LlamaModel ref = referenceDir == null ? null : LlamaModel.load(torch, referenceDir)) {
            err.printf(Locale.ROOT, "woq: %s; model %s (%s)%s; %d tokens of text%n", torch.describe(), dir,
                    model.weightFormat(), ref == null ? "" : ", reference " + ref.weightFormat(), tokens.length);
            err.flush();
            ChunkProgress progress = ChunkProgress.onTerminal(err);
            EvalResult result = TextEvaluator.evaluate(model, ref, tokens, context, progress::update);
            progress.finish();
            double seconds = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "woq: scored %d tokens in %.1f s; peak RSS %.0f MiB%n", result.tokens(), seconds,
                    ProcessMemory.peakRssBytes() / 1048576.0);
            err.flush();
            if (json) {
                JsonObject o = result.toJson();
                o.addProperty("model_dir", dir.toAbsolutePath().toString());
                o.addProperty("dtype", dtypeName);
                o.addProperty("weights", model.weightFormat());
                if (ref != null) {
                    o.addProperty("reference_dtype", referenceFormat.id());
                }
                if (sqnr != null) {
                    o.addProperty("weight_sqnr_db", sqnr);
                }
                o.addProperty("seconds", seconds);
                out.println(o);
            } else {
                out.print(result.toText());
                if (sqnr != null) {
                    out.printf(Locale.ROOT, "weight SQNR        %.2f dB%n", sqnr);
                }
            }
            out.flush();
        }
        return 0;
    }

    /** "scoring: chunk 3 / 10, ETA 12 s" redrawn on a terminal; silent otherwise. */
    private static final class ChunkProgress {
        private final PrintWriter err;
        private final boolean enabled;
        private final long start = System.nanoTime();

        private ChunkProgress(PrintWriter err, boolean enabled) {
            this.err = err;
            this.enabled = enabled;
        }

        static ChunkProgress onTerminal(PrintWriter err) {
            Console console = System.console();
            return new ChunkProgress(err, console != null);
        }

        void update(int done, int total) {
            if (!enabled) {
                return;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double eta = done == 0 ? 0 : seconds / done * (total - done);
            err.printf(Locale.ROOT, "\rscoring: chunk %d / %d, ETA %.0f s   ", done, total, eta);
            err.flush();
        }

        void finish() {
            if (enabled) {
                err.println();
                err.flush();
            }
        }
    }
}
