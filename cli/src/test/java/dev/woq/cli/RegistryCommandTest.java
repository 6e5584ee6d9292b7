package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq registry list|show|verify|rm} on an entry {@code woq quantize} made. */
class RegistryCommandTest {
    @TempDir
    static Path tmp;

    private static Path tiny;

    @TempDir
    Path home;

    @BeforeAll
    static void writeTinyCheckpoint() {
        tiny = Cli.synthTiny(tmp.resolve("tiny"));
    }

    private Path quantize() {
        Cli.Result r = Cli.run("quantize", "--model", tiny.toString(), "--dtype", "int4", "--woq-home", home.toString());
        assertEquals(0, r.exitCode(), r::describe);
        return Path.of(r.out().strip());
    }

    @Test
    void listShowVerifyRemove() {
        Path entry = quantize();

        Cli.Result list = Cli.run("registry", "list", "--woq-home", home.toString());
        assertEquals(0, list.exitCode(), list::describe);
        assertTrue(list.out().lines().findFirst().orElse("").matches("MODEL +RECIPE +SIZE +CREATED"), list::describe);
        assertTrue(list.out().lines().anyMatch(l -> l.matches("tiny +int4-q32 +[0-9.]+ GB +20\\d\\d-.*Z")), list::describe);

        Cli.Result show = Cli.run("registry", "show", "tiny/int4-q32", "--woq-home", home.toString());
        assertEquals(0, show.exitCode(), show::describe);
        assertTrue(show.out().contains(entry.toString()), show::describe);
        assertTrue(show.out().contains(tiny.toAbsolutePath().toString()), show::describe);
        assertTrue(show.out().contains("\"layout\":\"q32\",\"group_size\":32"), show::describe);
        assertTrue(show.out().contains("DJL 0.35.1, PyTorch 2.7.1"), show::describe);
        Cli.Result showModel = Cli.run("registry", "show", "tiny", "--woq-home", home.toString());
        assertEquals(show.out(), showModel.out());

        Cli.Result verify = Cli.run("registry", "verify", "tiny/int4-q32", "--woq-home", home.toString());
        assertEquals(0, verify.exitCode(), verify::describe);
        assertTrue(verify.out().contains("OK"), verify::describe);

        Cli.Result rm = Cli.run("registry", "rm", "tiny/int4-q32", "--woq-home", home.toString());
        assertEquals(0, rm.exitCode(), rm::describe);
        assertFalse(Files.exists(entry));
        Cli.Result empty = Cli.run("registry", "list", "--woq-home", home.toString());
        assertEquals(0, empty.exitCode(), empty::describe);
        assertFalse(empty.out().contains("tiny"), empty::describe);

        Cli.Result again = Cli.run("registry", "rm", "tiny/int4-q32", "--woq-home", home.toString());
        QuantizeCommandTest.assertUserError(again, "tiny/int4-q32");
    }

    @Test
    void verifyNamesTheCorruptTensor() throws Exception {
        Path entry = quantize();
        Path weights = entry.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(weights.toFile(), "rw")) {
            long at = raf.length() - 10; // inside the last tensor
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 1);
        }
        Cli.Result r = Cli.run("registry", "verify", "tiny/int4-q32", "--woq-home", home.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertEquals(1, r.err().strip().lines().count(), r::describe);
        assertTrue(r.err().contains(weights.toString()) && r.err().contains("tensor '"), r::describe);
        assertTrue(r.err().contains("woq quantize --force"), r::describe);
    }

    @Test
    void unknownEntriesAndBadNamesAreUserErrors() {
        QuantizeCommandTest.assertUserError(
                Cli.run("registry", "verify", "nope/int4-q32", "--woq-home", home.toString()), "nope/int4-q32");
        QuantizeCommandTest.assertUserError(
                Cli.run("registry", "show", "nope", "--woq-home", home.toString()), "nope");
        QuantizeCommandTest.assertUserError(
                Cli.run("registry", "rm", "justamodel", "--woq-home", home.toString()), "MODEL/RECIPE");
    }

    @Test
    void helpEndsWithExamples() {
        for (String[] args : new String[][] {{"registry", "--help"}, {"registry", "list", "--help"},
                {"registry", "verify", "--help"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(0, r.exitCode(), r::describe);
            String last = r.out().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(r.out().contains("Examples:") && last.startsWith("  woq registry"), r.out());
        }
    }
}
