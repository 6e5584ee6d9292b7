package dev.woq.runtime.registry;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.nio.file.Path;

/**
 * A separate JVM that quantizes the model at {@code args[1]} to int4-g128 into the registry at
 * {@code args[0]}, for tests that run it under limits the test JVM cannot take on itself. Prints
 * {@code done} and exits 0, or prints {@code error <message>} and exits 3.
 */
public final class QuantizeChild {
    private QuantizeChild() {}

    public static void main(String[] args) {
        try {
            new ModelRegistry(Path.of(args[0])).getOrCreate(Path.of(args[1]), QuantRecipe.parse("int4", 128, false),
                    false, Quantizer.Progress.NONE, message -> System.out.println("log " + message));
            System.out.println("done");
        } catch (WoqException e) {
            System.out.println("error " + e.getMessage());
            System.exit(3);
        }
    }
}
