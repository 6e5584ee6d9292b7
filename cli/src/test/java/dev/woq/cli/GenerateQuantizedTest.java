package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq generate --dtype int8|int4}: runs the registry entry, quantizing it first if needed. */
class GenerateQuantizedTest {
    private static final String PROMPT_IDS = "128000,2028,374,264,1296,11914,13";

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
    void int4QuantizesFirstSayingSoThenRunsFromTheEntry() {
        Cli.Result first = generate("int4");
        assertEquals(0, first.exitCode(), first::describe);
        assertTrue(first.err().contains("quantizing it first"), first::describe);
        JsonObject json = JsonParser.parseString(first.out().strip()).getAsJsonObject();
        assertEquals("int4-q32", json.get("dtype").getAsString());
        Path entry = home.resolve("registry/tiny/int4-q32").toAbsolutePath();
        assertEquals(entry.toString(), json.get("model_dir").getAsString());

        Cli.Result second = generate("int4");
        assertEquals(0, second.exitCode(), second::describe);
        assertFalse(second.err().contains("quantizing it first"), second::describe);
        assertEquals(json.get("generated_ids"), JsonParser.parseString(second.out().strip()).getAsJsonObject()
                .get("generated_ids"), "the same entry, the same greedy tokens");
    }

    @Test
    void registryModelNameIsEnoughOnceTheEntryExists() {
        assertEquals(0, generate("int8").exitCode());
        Cli.Result byName = Cli.run("generate", "--model", "tiny", "--dtype", "int8", "--woq-home", home.toString(),
                "--prompt-ids", PROMPT_IDS, "--temperature", "0", "--max-new-tokens", "4", "--json");
        assertEquals(0, byName.exitCode(), byName::describe);
        assertEquals("int8-g32", JsonParser.parseString(byName.out().strip()).getAsJsonObject().get("dtype").getAsString());
    }

    @Test
    void groupSizeWithBf16IsRefused() {
        Cli.Result r = Cli.run("generate", "--model", tiny.toString(), "--group-size", "64",
                "--prompt-ids", PROMPT_IDS, "--max-new-tokens", "2");
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("--group-size"), r::describe);
    }

    private Cli.Result generate(String dtype) {
        return Cli.run("generate", "--model", tiny.toString(), "--dtype", dtype, "--woq-home", home.toString(),
                "--prompt-ids", PROMPT_IDS, "--temperature", "0", "--max-new-tokens", "4", "--json");
    }
}
