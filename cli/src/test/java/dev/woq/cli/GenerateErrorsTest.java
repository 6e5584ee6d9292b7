package dev.woq.cli;

import static dev.woq.cli.SynthCommandTest.assertOneLineError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq generate} explains bad input in one line with exit code 1; picocli's usage errors exit 2. */
class GenerateErrorsTest {
    private static final String PROMPT_IDS = "128000,2028,374,264,1296,11914,13";

    @TempDir
    static Path tmp;

    private static Path model;

    @BeforeAll
    static void writeTinyCheckpoint() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
    }

    @Test
    void missingModelDirectoryFailsNamingThePath() {
        Path missing = tmp.resolve("no-such-model");

        Cli.Result r = generate(missing, "--prompt-ids", PROMPT_IDS);

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains(missing.toString()), r::describe);
    }

    @Test
    void truncatedSafetensorsFailsNamingTheFileAndSayingTruncated() throws IOException {
        Path copy = tmp.resolve("truncated");
        Cli.linkAllBut(model, copy, "model.safetensors");
        Path weights = copy.resolve("model.safetensors");
        Files.copy(model.resolve("model.safetensors"), weights);
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }

        Cli.Result r = generate(copy, "--prompt-ids", PROMPT_IDS);

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains(weights.toString()), r::describe);
        assertTrue(r.err().contains("truncated"), r::describe);
    }

    @Test
    void otherModelTypeFailsNamingIt() throws IOException {
        Path mistral = Cli.withConfig(model, tmp.resolve("mistral"), c -> c.add("model_type", new JsonPrimitive("mistral")));

        Cli.Result r = generate(mistral, "--prompt-ids", PROMPT_IDS);

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains("mistral"), r::describe);
    }

    @Test
    void unknownFlagIsAUsageError() {
        Cli.Result r = generate(model, "--prompt-ids", PROMPT_IDS, "--temprature", "0");

        assertEquals(2, r.exitCode(), r::describe);
        assertTrue(r.err().contains("--temprature"), r::describe);
    }

    @Test
    void promptAndPromptIdsTogetherAreAUsageError() {
        Cli.Result r = generate(model, "--prompt", "Hello", "--prompt-ids", PROMPT_IDS);

        assertEquals(2, r.exitCode(), r::describe);
        assertTrue(r.err().contains("mutually exclusive"), r::describe);
    }

    @Test
    void promptLongerThanTheContextFailsWithBothLengths() throws IOException {
        Path shortContext = Cli.withConfig(model, tmp.resolve("context16"),
                c -> c.add("max_position_embeddings", new JsonPrimitive(16)));
        String twentyIds = String.join(",", IntStream.range(0, 20).mapToObj(i -> Integer.toString(1000 + i)).toList());

        Cli.Result r = generate(shortContext, "--prompt-ids", twentyIds);

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains("20"), r::describe);
        assertTrue(r.err().contains("16"), r::describe);
    }

    @Test
    void negativeTemperatureIsRefused() {
        Cli.Result r = generate(model, "--prompt-ids", PROMPT_IDS, "--temperature", "-1");

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains("temperature"), r::describe);
    }

    private static Cli.Result generate(Path dir, String... args) {
        String[] all = Arrays.copyOf(new String[] {"generate", "--model", dir.toString()}, 3 + args.length);
        System.arraycopy(args, 0, all, 3, args.length);
        return Cli.run(all);
    }
}
