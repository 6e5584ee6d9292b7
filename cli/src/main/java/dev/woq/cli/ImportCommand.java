package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.gguf.GgufType;
import dev.woq.runtime.gguf.LlamaGgufImporter;
import dev.woq.runtime.gguf.Sqnr;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.ImportedModels;
import dev.woq.runtime.registry.ModelNames;
import dev.woq.runtime.registry.ModelRegistry;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq import}: a GGUF Llama into woq's home, and into the registry in the format asked for. */
@Command(
        name = "import",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Import a GGUF Llama (llama.cpp's format) as a woq model.",
            "Writes <woq-home>/models/<name>/: config.json from the file's llama.* keys, tokenizer.json"
                    + " from its Llama 3 vocabulary, the weights dequantized tensor by tensor to bf16 with Q"
                    + " and K rows put back in Hugging Face's order; then, for int8/int4, the registry entry"
                    + " quantized from it. Prints the error each step cost per GGUF tensor type (SQNR) and"
                    + " the directory. Reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K and Q6_K."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq import --gguf Meta-Llama-3-8B-Instruct.Q4_K_M.gguf --dtype int4",
            "  woq generate --model Meta-Llama-3-8B-Instruct.Q4_K_M --dtype int4 \\",
            "      --chat --prompt 'Hello!' --stream",
            "  woq import --gguf /tmp/s.gguf --name s2 --force"
        })
final class ImportCommand implements Callable<Integer> {
    @Option(names = "--gguf", required = true, paramLabel = "FILE", description = "The GGUF file.")
    Path gguf;

    @Option(names = "--name", paramLabel = "NAME",
            description = "The model's name in woq (default: the file's name without .gguf).")
    String name;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "bf16",
            description = "bf16, int8 or int4: the format to run it in (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--group-size", paramLabel = "N",
            description = "int4 with a bf16 scale and zero per group of 32, 64 or 128 (entry int4-g<N>)"
                    + " instead of int4-q32, the default.")
    Integer groupSize;

    @Option(names = "--force", description = "Replace a model of the same name (default: refuse).")
    boolean force;

    @Mixin
    WoqHome home;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        WeightFormat format = WeightFormat.parse(dtype, groupSize);
        String file = gguf.getFileName().toString();
        String modelName = name != null ? name : file.endsWith(".gguf") ? file.substring(0, file.length() - 5) : file;
        if (!modelName.equals(ModelNames.sanitize(modelName))) {
            throw new ConfigException("--name '" + modelName + "' has characters a registry name cannot hold:"
                    + " use letters, digits, '.', '_' and '-', e.g. " + ModelNames.sanitize(modelName));
        }
        ModelRegistry registry = home.registry();
        Path dir = ImportedModels.dir(registry, modelName);
        LlamaGgufImporter.Report r = LlamaGgufImporter.importTo(gguf, dir, force, (done, total) -> {});
        LlamaConfig c = r.config();
        stderr.printf(Locale.ROOT, "woq: imported %s as %s in %.1f s: %d layers, hidden %d, %d/%d heads, vocabulary %d,"
                        + " context %d%s%s%n",
                gguf, modelName, r.seconds(), c.numLayers(), c.hiddenSize(), c.numHeads(), c.numKvHeads(), c.vocabSize(),
                c.maxPositionEmbeddings(), c.tieWordEmbeddings() ? ", tied embeddings" : "",
                c.ropeScaling() != null ? ", Llama 3.1 rope scaling x" + c.ropeScaling().factor() : "");
        report(stderr, "to bf16", r.toBf16());
        Path result = dir;
        if (format.quantized()) {
            QuantRecipe recipe = QuantRecipe.of(format, true);
            Entry entry = QuantizeCommand.getOrCreate(registry, dir, recipe, force, stderr);
            report(stderr, "to " + entry.recipeName() + " (against the GGUF values)",
                    LlamaGgufImporter.measure(gguf, entry.dir(), recipe));
            result = entry.dir();
        }
        stderr.flush();
        stdout.println(result);
        stdout.flush();
        return 0;
    }

    private static void report(PrintWriter err, String step, Map<GgufType, Sqnr> errors) {
        StringBuilder sb = new StringBuilder("woq: SQNR " + step + ":");
        errors.forEach((type, sqnr) -> sb.append(String.format(Locale.ROOT, " %s (%d tensor%s) %s;",
                type, sqnr.tensors(), sqnr.tensors() == 1 ? "" : "s", sqnr)));
        sb.setLength(sb.length() - 1);
        err.println(sb);
    }
}
