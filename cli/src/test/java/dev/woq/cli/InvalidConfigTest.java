package dev.woq.cli;

import static dev.woq.cli.SynthCommandTest.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A model whose config.json is broken: {@code woq quantize} and {@code woq generate} fail in one
 * line naming the file and the field, with exit code 1, and leave nothing in the registry.
 */
class InvalidConfigTest {
    @TempDir
    static Path tmp;

    @TempDir
    Path home;

    private static Path tiny;

    @BeforeAll
    static void writeTinyCheckpoint() {
        tiny = Cli.synthTiny(tmp.resolve("tiny"));
    }

    static Stream<Arguments> brokenConfigs() {
        return Stream.of(
                Arguments.of("a string for a size", "hidden_size", edit(c -> c.addProperty("hidden_size", "big"))),
                Arguments.of("no heads", "num_attention_heads", edit(c -> c.addProperty("num_attention_heads", 0))),
                Arguments.of("a missing size", "vocab_size", edit(c -> c.remove("vocab_size"))),
                Arguments.of("a string in the eos list", "eos_token_id",
                        edit(c -> c.add("eos_token_id", JsonParser.parseString("[128001, \"x\"]")))),
                Arguments.of("rope_scaling as a string", "rope_scaling", edit(c -> c.addProperty("rope_scaling", "llama3"))),
                Arguments.of("a string for a flag", "tie_word_embeddings",
                        edit(c -> c.addProperty("tie_word_embeddings", "yes"))),
                Arguments.of("architectures as a string", "architectures",
                        edit(c -> c.add("architectures", new JsonPrimitive("LlamaForCausalLM")))),
                Arguments.of("another model's width", "config.json implies", edit(c -> c.addProperty("hidden_size", 256))),
                Arguments.of("cut short", "is not valid JSON", (Consumer<Path>) f -> write(f, "{\"hidden_size\": 128,")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenConfigs")
    void quantizeNamesTheFileAndTheFieldAndLeavesNoEntry(String what, String field, Consumer<Path> breakIt)
            throws IOException {
        Path model = broken(what.replace(' ', '-'), breakIt);
        Cli.Result r = Cli.run("quantize", "--model", model.toString(), "--dtype", "int4", "--woq-home", home.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains(field), r::describe);
        assertTrue(r.err().contains(model.resolve("config.json").toString()) || r.err().contains("config.json implies"),
                r::describe);
        Path modelDir = home.resolve("registry").resolve(model.getFileName().toString());
        assertFalse(Files.exists(modelDir.resolve("int4-q32")), "no entry");
        if (Files.isDirectory(modelDir)) {
            try (Stream<Path> left = Files.list(modelDir)) {
                assertEquals(0, left.filter(Files::isDirectory).count(), "no temporary directory");
            }
        }
    }

    @Test
    void generateNamesTheFileAndTheField() throws IOException {
        Path model = broken("generate", edit(c -> c.addProperty("num_hidden_layers", -2)));
        Cli.Result r = Cli.run("generate", "--model", model.toString(), "--prompt-ids", "128000,2028", "--max-new-tokens",
                "2", "--tokenizer", Cli.tokenizer().toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains(model.resolve("config.json") + ": invalid num_hidden_layers: -2"), r::describe);
    }

    private static Path broken(String name, Consumer<Path> breakIt) throws IOException {
        Path copy = tmp.resolve(name);
        Cli.linkAllBut(tiny, copy, "config.json");
        breakIt.accept(copy.resolve("config.json"));
        return copy;
    }

    private static Consumer<Path> edit(Consumer<JsonObject> change) {
        return file -> {
            try {
                JsonObject c = JsonParser.parseString(Files.readString(tiny.resolve("config.json"))).getAsJsonObject();
                change.accept(c);
                write(file, c.toString());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
