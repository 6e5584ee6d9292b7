package dev.woq.cli;

import dev.woq.runtime.quant.Int4Search;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.ModelLocator;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.util.ProcessMemory;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq quantize}: weight-only int4/int8 quantization into the model registry, built once and reused. */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Quantize a model's weights to int4 or int8 into the woq registry.",
            "Writes <woq-home>/registry/<model>/<recipe>/ (e.g. int4-q32) with a manifest of every tensor's"
                    + " SHA-256, and prints that directory. A finished entry for the same source and recipe is"
                    + " reused in well under a second; --force rebuilds it. An interrupted run never leaves a"
                    + " half-written entry behind."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq quantize --model ~/models/Meta-Llama-3-8B-Instruct --dtype int4",
            "  woq quantize --model /tmp/s --dtype int4 --group-size 128  # bf16 scales, 4.25 bits",
            "  woq quantize --model meta-llama/Meta-Llama-3-8B-Instruct --dtype int8",
            "  woq quantize --model /tmp/s --dtype int4 --int4-search none  # int4-q32-rtn",
            "  woq quantize --model /tmp/s --dtype int4 --calibration prompts.txt  # int4-q32-cal",
            "  woq registry list"
        })
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|NAME",
            description = "A Hugging Face model directory, or a hub name in the Hugging Face cache.")
    String model;

    @Option(names = "--dtype", required = true, paramLabel = "TYPE",
            description = "int4 (groups of 32 with 8-bit scale and zero codes, 4.5 bits a weight: int4-q32)"
                    + " or int8 (a bf16 scale per group of 32, 8.5 bits a weight: int8-g32, as llama.cpp's Q8_0).")
    String dtype;

    @Option(names = "--group-size", paramLabel = "N",
            description = "int4 with a bf16 scale and zero per group of 32, 64 or 128 (5, 4.5 or 4.25 bits;"
                    + " entry int4-g<N>) instead of int4-q32. int8's groups are always 32.")
    Integer groupSize;

    @Option(names = "--int4-search", paramLabel = "KIND",
            description = "How int4 picks each group's scale and zero: mse (search the range with the least"
                    + " squared error) or none (round to nearest over the range; entry int4-q32-rtn)"
                    + " (default: mse).")
    String int4Search;

    @Mixin
    CalibrationOptions calibration;

    @Option(names = "--keep-lm-head-bf16",
            description = "Leave lm_head.weight in bf16 (default: quantized like the other projections).")
    boolean keepLmHeadBf16;

    @Option(names = "--force", description = "Quantize again even if the registry already holds this entry.")
    boolean force;

    @Mixin
    WoqHome home;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        QuantRecipe recipe = calibration.apply(QuantRecipe.parse(dtype, groupSize, keepLmHeadBf16,
                int4Search == null ? null : Int4Search.parse(int4Search)));
        Path source = ModelLocator.locate(model);
        ModelRegistry registry = home.registry();
        Instant started = Instant.now();
        long start = System.nanoTime();
        Entry entry = getOrCreate(registry, source, recipe, force, stderr);
        double seconds = (System.nanoTime() - start) / 1e9;
        boolean reused = entry.manifest().created().isBefore(started);
        if (reused) {
            stderr.printf(Locale.ROOT, "woq: reusing registry entry %s (created %s, from %s)%n",
                    entry.dir(), entry.manifest().created(), entry.manifest().sourcePath());
        } else {
            long peak = ProcessMemory.peakRssBytes();
            stderr.printf(Locale.ROOT, "woq: quantized %s as %s in %.1f s (quantizing %.1f s): %s in, %s out,"
                            + " %d tensors, peak RSS %s%n",
                    entry.model(), entry.recipeName(), seconds, entry.manifest().quantizeSeconds(),
                    gb(WeightFiles.bytes(source)), gb(entry.totalBytes()), entry.manifest().tensors().size(),
                    peak < 0 ? "unknown" : gb(peak));
        }
        stderr.flush();
        stdout.println(entry.dir());
        stdout.flush();
        return 0;
    }

    /**
     * The registry entry, quantized now if needed, with progress on a terminal and the registry's
     * notes (waiting for a lock, reusing, rebuilding) as lines on {@code err}.
     */
    static Entry getOrCreate(ModelRegistry registry, Path source, QuantRecipe recipe, boolean force, PrintWriter err) {
        TensorProgress progress = TensorProgress.onTerminal("quantizing " + recipe.id(), err);
        Entry entry = registry.getOrCreate(source, recipe, force, progress, message -> {
            progress.interrupt();
            err.println("woq: " + message);
            err.flush();
        });
        progress.finish();
        return entry;
    }

    static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }

    /**
     * Tensors done of total, GB, MB/s and ETA, redrawn on a terminal at most every 200 ms; silent when
     * stderr is not a terminal, so scripts and logs stay clean.
     */
    static final class TensorProgress implements Quantizer.Progress {
        private final String label;
        private final PrintWriter err;
        private final boolean enabled;
        private final long start = System.nanoTime();
        /** When the tensors began: after the calibration pass, so that its time is not in their rate. */
        private long tensorsStart = start;
        private long lastDraw;
        private boolean drawn;

        TensorProgress(String label, PrintWriter err, boolean enabled) {
            this.label = label;
            this.err = err;
            this.enabled = enabled;
        }

        static TensorProgress onTerminal(String label, PrintWriter err) {
            return new TensorProgress(label, err, System.console() != null);
        }

        @Override
        public synchronized void calibrating(long tokensDone, long tokensTotal) {
            long now = System.nanoTime();
            tensorsStart = now;
            if (!enabled) {
                return;
            }
            drawn = true;
            double seconds = Math.max(1e-9, (now - start) / 1e9);
            double eta = tokensDone > 0 ? (tokensTotal - tokensDone) * seconds / tokensDone : 0;
            err.printf(Locale.ROOT, "\rcalibrating: %d/%d tokens, ETA %.0f s   ", tokensDone, tokensTotal, eta);
            err.flush();
        }

        @Override
        public synchronized void update(long tensorsDone, long tensorsTotal, long bytesDone, long bytesTotal) {
            if (!enabled) {
                return;
            }
            long now = System.nanoTime();
            if (now - lastDraw < 200_000_000L && tensorsDone < tensorsTotal) {
                return;
            }
            lastDraw = now;
            drawn = true;
            double seconds = Math.max(1e-9, (now - tensorsStart) / 1e9);
            double rate = bytesDone / seconds;
            double eta = rate > 0 ? (bytesTotal - bytesDone) / rate : 0;
            err.printf(Locale.ROOT, "\r%s: %d/%d tensors, %.2f / %.2f GB, %.0f MB/s, ETA %.0f s   ",
                    label, tensorsDone, tensorsTotal, bytesDone / 1e9, bytesTotal / 1e9, rate / 1e6, eta);
            err.flush();
        }

        /** Ends the progress line before another message is printed. */
        synchronized void interrupt() {
            if (drawn) {
                err.println();
                drawn = false;
            }
        }

        void finish() {
            interrupt();
        }
    }
}
