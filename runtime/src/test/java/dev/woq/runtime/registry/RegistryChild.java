package dev.woq.runtime.registry;

import dev.woq.runtime.quant.QuantRecipe;
import java.nio.file.Path;

/**
 * A separate JVM that quantizes slowly into a registry, printing a line at each progress report,
 * for {@link KilledQuantizeTest} to kill mid-way. Arguments: woq home, source directory.
 */
public final class RegistryChild {
    private RegistryChild() {}

    public static void main(String[] args) throws Exception {
        ModelRegistry registry = new ModelRegistry(Path.of(args[0]));
        Entry entry = registry.getOrCreate(Path.of(args[1]), QuantRecipe.parse("int4", 128, false), false,
                (tensorsDone, tensorsTotal, bytesDone, bytesTotal) -> {
                    System.out.println("progress " + tensorsDone + "/" + tensorsTotal);
                    System.out.flush();
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                message -> System.out.println("log " + message));
        System.out.println("entry " + entry.dir() + " created " + entry.manifest().created());
        System.out.println("done");
    }
}
