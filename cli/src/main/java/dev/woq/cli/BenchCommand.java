package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.bench.ModelBenchmark;
import dev.woq.runtime.engine.MemoryBandwidth;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.util.ProcessMemory;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq bench}: bf16, int8 and int4 of one model, measured side by side in one process. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Compare bf16, int8 and int4 side by side: speed, memory, disk.",
            "Measures the formats of one model in one process: load time, time to "
                    + "first token, prefill and decode tokens/s (median and min-max over runs), decode "
                    + "GB/s against the memory bandwidth measured in the same run, peak RSS per format, "
                    + "and bytes on disk.",
            "Decode is greedy and ignores end tokens, like llama-bench. A format missing from the "
                    + "registry is quantized first. Prints a table (or --json) and writes bench.json and "
                    + "bench.png (a chart) to --out."
        },
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq bench --model /tmp/s",
            "  woq bench --model models/llama3-8b --dtypes int8,int4 --runs 5",
            "  woq bench --model /tmp/s --prompt-tokens 512 --new-tokens 32 \\",
            "      --out /tmp/bench --json > /tmp/bench.json"
        })
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|NAME",
            description = "A Hugging Face model directory, a hub name in the Hugging Face cache, or a model "
                    + "name in woq's registry (for int8/int4 only).")
    String model;

    @Option(names = "--dtypes", paramLabel = "LIST", split = ",", defaultValue = "bf16,int8,int4",
            description = "Formats to measure, in this order (default: ${DEFAULT-VALUE}).")
    List<String> dtypes;

    @Option(names = "--group-size", paramLabel = "N",
            description = "int4 with a bf16 scale and zero per group of 32, 64 or 128 (entry int4-g<N>)"
                    + " instead of int4-q32, the default.")
    Integer groupSize;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "128",
            description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--new-tokens", paramLabel = "N", defaultValue = "64",
            description = "Tokens generated per run (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "3",
            description = "Timed runs per format, after one warm-up (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "woq-bench",
            description = "Where bench.json and bench.png go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--json", description = "Print the JSON on stdout instead of the table.")
    boolean json;

    @Mixin
    WoqHome home;

    @Mixin
    RuntimeOptions runtime;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<WeightFormat> formats = checkOptions();
        ModelRegistry registry = home.registry();

        // Quantize what is missing first, so quantizing is neither timed nor in a format's peak memory.
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (WeightFormat format : formats) {
            dirs.put(format.dtype(), WeightsOptions.resolve(model, format, registry, err));
        }
        checkContext(dirs.values().iterator().next());

        TorchRuntime torch = TorchRuntime.start(runtime.threads);
        err.println("woq bench: " + torch.describe());
        err.println("woq bench: measuring the memory read bandwidth");
        err.flush();
        double bandwidth = MemoryBandwidth.measure(torch, 1L << 30, 10) / 1e9;

        List<BenchRow> rows = new ArrayList<>();
        for (Map.Entry<String, Path> e : dirs.entrySet()) {
            rows.add(measure(torch, e.getKey(), e.getValue(), err));
        }
        // The last part of a path, hub name or registry name: what people call the model.
        String name = Path.of(model).getFileName().toString();
        BenchReport report = new BenchReport(name,
                torch.describe(), torch.threads(), bandwidth, promptTokens, newTokens, runs,
                LocalDate.now().toString(), rows);
        String json = report.json();
        Files.createDirectories(out);
        writeAtomically(out.resolve("bench.json"), tmp -> Files.writeString(tmp, json + "\n"));
        BufferedImage chart = BenchChart.render(report);
        writeAtomically(out.resolve("bench.png"), tmp -> {
            if (!ImageIO.write(chart, "png", tmp.toFile())) {
                throw new IOException("no PNG writer in this JDK");
            }
        });
        stdout.print(this.json ? json + "\n" : report.table());
        stdout.flush();
        err.println("woq bench: wrote " + out.resolve("bench.json") + " and " + out.resolve("bench.png"));
        err.flush();
        return 0;
    }

    /** Checks every option before anything is loaded; returns the formats in the order given. */
    private List<WeightFormat> checkOptions() {
        if (runs < 1) {
            throw new ConfigException("--runs must be at least 1, got " + runs);
        }
        if (promptTokens < 1) {
            throw new ConfigException("--prompt-tokens must be at least 1, got " + promptTokens);
        }
        if (newTokens < 2) {
            throw new ConfigException("--new-tokens must be at least 2 (decode is timed after the first), got " + newTokens);
        }
        List<WeightFormat> formats = new ArrayList<>();
        for (String d : dtypes) {
            String dtype = d.trim().toLowerCase(Locale.ROOT);
            WeightFormat format = WeightFormat.parse(dtype, dtype.equals("int4") ? groupSize : null); // names the bad value
            if (formats.stream().anyMatch(f -> f.dtype().equals(format.dtype()))) {
                throw new ConfigException("--dtypes lists " + dtype + " twice");
            }
            formats.add(format);
        }
        if (groupSize != null && formats.stream().noneMatch(f -> f instanceof WeightFormat.Int4)) {
            throw new ConfigException("--group-size applies to int4, which --dtypes does not list");
        }
        return formats;
    }

    private void checkContext(Path dir) {
        int context = LlamaConfig.load(dir).maxPositionEmbeddings();
        if (promptTokens + newTokens > context) {
            throw new ConfigException("--prompt-tokens " + promptTokens + " plus --new-tokens " + newTokens
                    + " is more than the model's context of " + context + " tokens");
        }
    }

    private BenchRow measure(TorchRuntime torch, String dtype, Path dir, PrintWriter err) {
        boolean ownPeak = ProcessMemory.resetPeak();
        long start = System.nanoTime();
        try (LlamaModel llama = LlamaModel.load(torch, dir)) {
            runtime.applyTo(llama);
            double load = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "woq bench: %s loaded in %.1f s; %d run%s of %d + %d tokens%n",
                    llama.weightFormat(), load, runs, runs == 1 ? "" : "s", promptTokens, newTokens);
            err.flush();
            ModelBenchmark.Measurement m = ModelBenchmark.measure(llama, promptTokens, newTokens, runs);
            return new BenchRow(dtype, llama.weightFormat(), dir.toString(), WeightFiles.bytes(dir), load, m,
                    llama.weightBytesPerToken(), ProcessMemory.peakRssBytes(), ownPeak);
        }
    }

    private interface FileWriter {
        void write(Path tmp) throws IOException;
    }

    /** Writes to a temporary file beside {@code target}, then renames it: never half a file. */
    private static void writeAtomically(Path target, FileWriter writer) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            writer.write(tmp);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw new WoqException("Cannot write " + target + ": " + e.getMessage(), e);
        }
    }
}
