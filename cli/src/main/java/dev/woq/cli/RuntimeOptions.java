package dev.woq.cli;

import dev.woq.runtime.engine.CpuInfo;
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
}
