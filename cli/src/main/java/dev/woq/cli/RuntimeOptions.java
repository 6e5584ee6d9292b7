package dev.woq.cli;

import dev.woq.runtime.engine.CpuInfo;
import dev.woq.runtime.model.LlamaModel;
import picocli.CommandLine.Option;

/** Options every command that runs the engine shares. */
final class RuntimeOptions {
    static {
        // Lets --help show this machine's default.
        System.setProperty("woq.physicalCores", Integer.toString(CpuInfo.physicalCores()));
    }

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "${sys:woq.physicalCores}",
            description = "Threads for the kernels (default: the physical cores, ${DEFAULT-VALUE} here).")
    int threads;

    @Option(
            names = "--prefill-chunk",
            paramLabel = "TOKENS",
            defaultValue = "" + LlamaModel.DEFAULT_PREFILL_CHUNK,
            description = "Prompt tokens per forward pass: longer prompts run in chunks, which bounds "
                    + "memory and, in serve, how long other streams wait (default: ${DEFAULT-VALUE}).")
    int prefillChunk;

    /** Applies the options that live on the loaded model. */
    void applyTo(LlamaModel model) {
        model.setPrefillChunk(prefillChunk);
    }
}
