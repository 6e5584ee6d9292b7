package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.gguf.GgufReader;
import dev.woq.runtime.gguf.GgufType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq export --format gguf} and {@code woq import --gguf} on the command line. */
class GgufCommandsTest {
    static final String PROMPT = "128000,2028,374,264,1296";

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
    void exportThenImportByNameGivesTheSameLogits() throws IOException {
        Path file = home.resolve("tiny.gguf");
        Cli.Result export = Cli.run("export", "--model", tiny.toString(), "--out", file.toString(), "--woq-home", home.toString());
        assertEquals(0, export.exitCode(), export::describe);
        assertEquals(file.toAbsolutePath().toString(), export.out().strip());
        assertTrue(export.err().contains("projections BF16"), export::describe);

        Cli.Result imported = Cli.run("import", "--gguf", file.toString(), "--name", "tiny-back", "--woq-home", home.toString());
        assertEquals(0, imported.exitCode(), imported::describe);
        assertEquals(home.resolve("models/tiny-back").toAbsolutePath().toString(), imported.out().strip());
        assertTrue(imported.err().contains("SQNR to bf16: F32 (5 tensors) exact; BF16 (16 tensors) exact"), imported::describe);

        Path a = home.resolve("a.f32");
        Path b = home.resolve("b.f32");
        Cli.Result ra = Cli.run("generate", "--model", tiny.toString(), "--prompt-ids", PROMPT, "--max-new-tokens", "1",
                "--logits-out", a.toString(), "--woq-home", home.toString());
        assertEquals(0, ra.exitCode(), ra::describe);
        // the imported model is found by its name alone
        Cli.Result rb = Cli.run("generate", "--model", "tiny-back", "--prompt-ids", PROMPT, "--max-new-tokens", "1",
                "--logits-out", b.toString(), "--woq-home", home.toString());
        assertEquals(0, rb.exitCode(), rb::describe);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void int8ExportIsQ8_0AndImportIntoInt4ReportsTheError() {
        Path file = home.resolve("tiny-q8.gguf");
        Cli.Result export = Cli.run("export", "--model", tiny.toString(), "--dtype", "int8", "--out", file.toString(),
                "--woq-home", home.toString());
        assertEquals(0, export.exitCode(), export::describe);
        assertTrue(export.err().contains("projections Q8_0"), export::describe);
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals(GgufType.Q8_0, r.tensor("blk.0.ffn_down.weight").orElseThrow().type());
        }
        Cli.Result imported = Cli.run("import", "--gguf", file.toString(), "--dtype", "int4", "--group-size", "32",
                "--woq-home", home.toString());
        assertEquals(0, imported.exitCode(), imported::describe);
        assertEquals(home.resolve("registry/tiny-q8/int4-g32").toAbsolutePath().toString(), imported.out().strip());
        assertTrue(imported.err().contains("SQNR to int4-g32 (against the GGUF values): Q8_0 (15 tensors)"), imported::describe);
    }

    @Test
    void errorsSayWhatToDo() throws IOException {
        Path file = home.resolve("exists.gguf");
        Files.writeString(file, "x");
        Cli.Result r = Cli.run("export", "--model", tiny.toString(), "--out", file.toString(), "--woq-home", home.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("exists already"), r::describe);

        Path old = home.resolve("llama-2-7b-chat.ggmlv3.q4_0.bin");
        Files.write(old, new byte[] {'t', 'j', 'g', 'g', 3, 0, 0, 0});
        r = Cli.run("import", "--gguf", old.toString(), "--woq-home", home.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().startsWith("woq: " + old + " is a GGML file of the old 'ggjt' format"), r::describe);
        assertTrue(r.err().contains("Convert it to GGUF first"), r::describe);
        assertFalse(Files.exists(home.resolve("models/llama-2-7b-chat.ggmlv3.q4_0.bin")));

        r = Cli.run("export", "--model", tiny.toString(), "--format", "safetensors", "--out", home.resolve("x").toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("woq exports gguf only"), r::describe);
    }
}
