package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq quantize}: into the registry once, reused after, and the values it refuses. */
class QuantizeCommandTest {
    @TempDir
    static Path tmp;

    private static Path tiny;

    @TempDir
    Path home;

    @BeforeAll
    static void writeTinyCheckpoint() {
        tiny = Cli.synthTiny(tmp.resolve("tiny"));
    }

    @Test
    void quantizesOnceThenReuses() {
        Cli.Result first = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--woq-home", home.toString());
        assertEquals(0, first.exitCode(), first::describe);
        Path entry = home.resolve("registry").resolve("tiny").resolve("int4-q32").toAbsolutePath();
        assertEquals(entry.toString(), first.out().strip(), "stdout is the entry's directory");
        assertTrue(Files.isRegularFile(entry.resolve("manifest.json")));
        assertTrue(Files.isRegularFile(entry.resolve("tokenizer.json")), "the tokenizer travels with the weights");
        assertTrue(first.err().contains("quantized tiny as int4-q32"), first::describe);
        assertTrue(first.err().contains("peak RSS"), first::describe);
        assertFalse(first.err().contains("reusing"), first::describe);

        Cli.Result second = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--int4-search", "mse",
                "--woq-home", home.toString());
        assertEquals(0, second.exitCode(), second::describe);
        assertEquals(entry.toString(), second.out().strip());
        assertTrue(second.err().contains("reusing registry entry " + entry), second::describe);

        Cli.Result forced = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--force",
                "--woq-home", home.toString());
        assertEquals(0, forced.exitCode(), forced::describe);
        assertTrue(forced.err().contains("quantized tiny as int4-q32"), forced::describe);
    }

    @Test
    void roundToNearestInt4IsItsOwnEntryAndRegistryShowNamesTheSearch() {
        Cli.Result rtn = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--int4-search", "none",
                "--woq-home", home.toString());
        assertEquals(0, rtn.exitCode(), rtn::describe);
        assertEquals(home.resolve("registry/tiny/int4-q32-rtn").toAbsolutePath().toString(), rtn.out().strip());
        Cli.Result mse = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--woq-home", home.toString());
        assertEquals(home.resolve("registry/tiny/int4-q32").toAbsolutePath().toString(), mse.out().strip());
        Cli.Result g128 = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--group-size", "128",
                "--woq-home", home.toString());
        assertEquals(home.resolve("registry/tiny/int4-g128").toAbsolutePath().toString(), g128.out().strip());

        Cli.Result show = Cli.run("registry", "show", "tiny", "--woq-home", home.toString());
        assertEquals(0, show.exitCode(), show::describe);
        assertTrue(show.out().contains("\"search\":\"none\"") && show.out().contains("\"search\":\"mse\""),
                show::describe);
        // The recipe as recorded: layout, group, bits a weight.
        assertTrue(show.out().contains("\"layout\":\"q32\"") && show.out().contains("\"bits_per_weight\":4.5")
                && show.out().contains("\"group_size\":32"), show::describe);

        Cli.Result int8 = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int8", "--int4-search", "mse",
                "--woq-home", home.toString());
        assertEquals(1, int8.exitCode(), int8::describe);
        assertTrue(int8.err().contains("int4 search"), int8::describe);
    }

    @Test
    void calibratedInt4IsItsOwnEntryReusedForTheSameTextAndRebuiltForAnother() throws java.io.IOException {
        Path text = home.resolve("prompts.txt");
        Files.writeString(text, "Summarise the quarterly report and cite the pages you used. ".repeat(12));
        Cli.Result first = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--calibration",
                text.toString(), "--woq-home", home.toString());
        assertEquals(0, first.exitCode(), first::describe);
        Path entry = home.resolve("registry/tiny/int4-q32-cal").toAbsolutePath();
        assertEquals(entry.toString(), first.out().strip());
        assertTrue(first.err().contains("quantized tiny as int4-q32-cal"), first::describe);
        Cli.Result show = Cli.run("registry", "show", "tiny/int4-q32-cal", "--woq-home", home.toString());
        assertTrue(show.out().contains("\"calibration\":{\"text\":\"prompts.txt\",\"sha256\":"), show::describe);

        Cli.Result again = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--calibration",
                text.toString(), "--woq-home", home.toString());
        assertTrue(again.err().contains("reusing registry entry " + entry), again::describe);
        Files.writeString(text, "Another text altogether, about invoices and their due dates. ".repeat(12));
        Cli.Result other = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--calibration",
                text.toString(), "--woq-home", home.toString());
        assertEquals(0, other.exitCode(), other::describe);
        assertTrue(other.err().contains("rebuilding " + entry) && other.err().contains("quantized tiny as int4-q32-cal"),
                other::describe);

        Cli.Result int8 = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int8", "--calibration",
                text.toString(), "--woq-home", home.toString());
        assertUserError(int8, "--calibration applies to int4");
        Cli.Result missing = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--calibration",
                home.resolve("absent.txt").toString(), "--woq-home", home.toString());
        assertUserError(missing, "No calibration text at " + home.resolve("absent.txt"));
    }

    @Test
    void int8AndKeptLmHeadAreTheirOwnEntries() {
        Cli.Result r = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int8", "--keep-lm-head-bf16",
                "--woq-home", home.toString());
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(home.resolve("registry/tiny/int8-g32-bf16-lm-head").toAbsolutePath().toString(), r.out().strip());
    }

    @Test
    void unknownDtypeNamesTheAllowedValues() {
        Cli.Result r = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int3", "--woq-home", home.toString());
        assertUserError(r, "int3");
        assertTrue(r.err().contains("int4") && r.err().contains("int8"), r::describe);
        assertFalse(Files.exists(home.resolve("registry")), "nothing written");
    }

    @Test
    void unsupportedGroupSizeIsRefused() {
        Cli.Result r = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--group-size", "100",
                "--woq-home", home.toString());
        assertUserError(r, "100");
        assertTrue(r.err().contains("128"), r::describe);
    }

    @Test
    void groupSizeWithInt8IsRefused() {
        Cli.Result r = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int8", "--group-size", "64",
                "--woq-home", home.toString());
        assertUserError(r, "int8");
    }

    @Test
    void unknownModelIsRefused() {
        Path missing = tmp.resolve("no-such-model");
        Cli.Result r = Cli.run("quantize", "--model", missing.toString(), "--dtype", "int4", "--woq-home", home.toString());
        assertUserError(r, missing.toString());
    }

    @Test
    void helpShowsDefaultsAndEndsWithExamples() {
        Cli.Result r = Cli.run("quantize", "--help");
        assertEquals(0, r.exitCode(), r::describe);
        String flat = r.out().replaceAll("\\s+", " ");
        assertTrue(flat.contains("(default: mse)") && flat.contains("int4-q32"), r.out());
        assertTrue(flat.contains("(default: $WOQ_HOME, else ~/.woq)"), r.out());
        String last = r.out().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(r.out().contains("Examples:") && last.startsWith("  woq "), r.out());
    }

    static void assertUserError(Cli.Result r, String mentions) {
        assertEquals(1, r.exitCode(), r::describe);
        assertEquals(1, r.err().strip().lines().count(), () -> "one line: " + r.describe());
        assertTrue(r.err().startsWith("woq: "), r::describe);
        assertTrue(r.err().contains(mentions), r::describe);
        assertTrue(r.out().isEmpty(), r::describe);
    }
}
