package dev.woq.runtime.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A woq home on a read-only mount (a bind mount remounted {@code ro}: tests run as root, and
 * {@code chmod} does not stop root's writes, a read-only mount does): its entries load and run,
 * and a missing entry is refused in one message naming the home and what to do, writing nothing.
 */
class ReadOnlyHomeTest {
    @TempDir
    Path home;

    @Test
    void entriesOfAReadOnlyHomeLoadAndAMissingOneIsRefusedClearly() throws Exception {
        QuantRecipe int4 = QuantRecipe.parse("int4", 128, false);
        Entry built = new ModelRegistry(home).getOrCreate(TestCheckpoints.tiny(), int4, false,
                Quantizer.Progress.NONE, m -> {});
        List<String> log = new ArrayList<>();
        try (SmallFileSystem ro = SmallFileSystem.readOnlyBind(home)) {
            java.io.IOException refused = assertThrows(java.io.IOException.class,
                    () -> Files.createFile(home.resolve("probe")), "root cannot write there");
            assertTrue(refused.getMessage().contains("Read-only file system"), refused.getMessage());
            ModelRegistry registry = new ModelRegistry(home);
            ModelResolver resolver = new ModelResolver(registry, Quantizer.Progress.NONE, log::add);

            Path dir = resolver.resolve(TestCheckpoints.tiny().toString(), WeightFormat.parse("int4", 128));
            assertEquals(built.dir(), dir);
            assertEquals(dir, resolver.resolve("tiny", WeightFormat.parse("int4", 128)));
            try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                    InferenceSession s = model.newSession(4)) {
                assertEquals(model.config().vocabSize(), s.prefill(new int[] {128000, 2028}).length);
            }

            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> resolver.resolve(TestCheckpoints.tiny().toString(), WeightFormat.parse("int8", null)));
            assertTrue(e.getMessage().contains("Read-only file system"), e.getMessage());
            assertTrue(e.getMessage().contains(home.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("WOQ_HOME"), e.getMessage());
            assertFalse(Files.exists(registry.root().resolve("tiny").resolve("int8")));
            assertEquals(List.of(built.dir()), registry.list().stream().map(Entry::dir).toList());
        }
    }
}
