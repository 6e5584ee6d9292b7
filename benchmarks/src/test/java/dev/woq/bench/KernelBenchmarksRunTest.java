package dev.woq.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The kernel benchmarks run end to end through JMH on small shapes (no timing is asserted): their
 * setup loads and checks every format, and the result JSON becomes the documented table.
 */
class KernelBenchmarksRunTest {
    @TempDir
    Path tmp;

    @Test
    void everyBenchmarkRunsThroughJmhAndItsResultBecomesATable() throws RunnerException, IOException {
        Path json = tmp.resolve("jmh.json");
        Options options = new OptionsBuilder()
                .include(LinearBenchmark.class.getSimpleName())
                .include(AttentionBenchmark.class.getSimpleName())
                .param("shape", "64x256")
                .param("tokens", "1", "4")
                .param("context", "16")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(50))
                .resultFormat(ResultFormatType.JSON)
                .result(json.toString())
                .build();
        Collection<RunResult> results = new Runner(options).run();
        assertEquals(6 * 2 + 2 * 2, results.size(),
                "three formats on woq's kernels and on libtorch's x two token counts, and attention at two on each");
        String table = JmhTable.table(Files.readString(json));
        for (String format : List.of("bf16", "bf16-libtorch", "int8", "int8-libtorch", "int4", "int4-libtorch")) {
            assertTrue(table.contains("| 64x256 | " + format + " | 1 | "), table);
            assertTrue(table.contains("| 64x256 | " + format + " | 4 | "), table);
        }
        for (String kernel : List.of("libtorch", "native")) {
            assertTrue(table.contains("| 16 | 1 | " + kernel + " | ") && table.contains("| 16 | 4 | " + kernel + " | "),
                    table);
        }
    }

    @Test
    void theSetupCheckTellsAWrongOutputFromARightOne() {
        // Two tokens, four outputs, of which the first two are checked against the reference.
        float[] want = {1, 2, 3, 4};
        float[] right = {1.001f, 2, 9, 9, 3, 4.002f, 9, 9};
        float[] wrong = {2, 1, 9, 9, 4, 3, 9, 9};
        assertTrue(LinearBenchmark.relativeError(right, 4, want, 2, 2) < 0.001);
        assertTrue(LinearBenchmark.relativeError(wrong, 4, want, 2, 2) > 0.3);
    }
}
