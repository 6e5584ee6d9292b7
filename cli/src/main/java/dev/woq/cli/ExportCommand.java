package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.gguf.LlamaGgufExporter;
import dev.woq.runtime.registry.ModelNames;
import dev.woq.runtime.registry.ModelRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq export}: a woq model as a GGUF file for llama.cpp's tools. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Write a model as a GGUF file for llama.cpp's tools.",
            "llama-cli, llama-bench and llama-quantize load it. bf16: BF16 projections, bit for bit. int8: Q8_0 from woq's int8 registry entry, exactly"
                    + " (quantizing the entry first if needed). int4: Q4_0 requantized from the bf16"
                    + " weights, since woq's asymmetric int4 has no exact Q4_0 form; it says so. Norms are"
                    + " F32, the embedding BF16, Q and K rows permuted as llama.cpp's converter does."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq export --model /tmp/s --out /tmp/s-bf16.gguf",
            "  woq export --model /tmp/s --dtype int8 --out /tmp/s-q8_0.gguf",
            "  llama-bench -m /tmp/s-q8_0.gguf -t 2 -p 128 -n 32"
        })
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|NAME",
            description = "A Hugging Face model directory, a hub name in the Hugging Face cache, or a model"
                    + " imported with woq import.")
    String model;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "bf16",
            description = "bf16 (BF16), int8 (Q8_0) or int4 (Q4_0, requantized) (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "gguf",
            description = "The file format; gguf is the one there is (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The GGUF file to write.")
    Path out;

    @Option(names = "--force", description = "Replace --out if it exists (default: refuse).")
    boolean force;

    @Mixin
    WoqHome home;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        if (!format.equalsIgnoreCase("gguf")) {
            throw new ConfigException("Unknown --format '" + format + "': woq exports gguf only.");
        }
        WeightFormat weights = WeightFormat.parse(dtype, null);
        if (Files.exists(out) && !force) {
            throw new ConfigException(out + " exists already: choose another --out, or pass --force to replace it.");
        }
        if (out.toAbsolutePath().getParent() != null && !Files.isDirectory(out.toAbsolutePath().getParent())) {
            throw new ConfigException("The directory of --out " + out + " does not exist: create it first.");
        }
        ModelRegistry registry = home.registry();
        // int8 reads the registry entry (quantized first if missing); bf16 and int4 read the bf16 weights
        Path dir = WeightsOptions.resolve(model, weights.dtype().equals("int8") ? weights : WeightFormat.BF16, registry, stderr);
        String name = ModelNames.of(weights.dtype().equals("int8") ? dir.getParent() : dir);
        LlamaGgufExporter.Report r = LlamaGgufExporter.export(dir, weights, out, name, (done, total) -> {});
        for (String note : r.notes()) {
            stderr.println("woq: " + note);
        }
        stderr.printf(Locale.ROOT, "woq: wrote %s: %s, %d tensors, projections %s, in %.1f s%n",
                r.file(), QuantizeCommand.gb(r.bytes()), r.tensors(), r.projectionType(), r.seconds());
        stderr.flush();
        stdout.println(r.file());
        stdout.flush();
        return 0;
    }
}
