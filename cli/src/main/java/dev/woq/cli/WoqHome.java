package dev.woq.cli;

import dev.woq.runtime.registry.ModelRegistry;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --woq-home}: where the registry lives, for every command that uses it. */
final class WoqHome {
    @Option(names = "--woq-home", paramLabel = "DIR",
            description = "woq's home, holding registry/ (default: $WOQ_HOME, else ~/.woq).")
    Path woqHome;

    /** The home directory itself (it may not exist yet). */
    Path dir() {
        return woqHome != null ? woqHome : ModelRegistry.defaultHome();
    }

    ModelRegistry registry() {
        return woqHome != null ? new ModelRegistry(woqHome) : ModelRegistry.atDefaultHome();
    }
}
