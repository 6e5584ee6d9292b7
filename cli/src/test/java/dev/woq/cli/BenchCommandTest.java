package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq bench} on the tiny checkpoint: the table, bench.json, bench.png and the refusals. */
class BenchCommandTest {
    @TempDir
    static Path tmp;

    private static Path model;
    private static Cli.Result run;
    private static Path out;

    @BeforeAll
    static void benchAllThreeFormats() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
        out = tmp.resolve("bench");
        run = Cli.run("bench", "--model", model.toString(), "--woq-home", tmp.resolve("home").toString(),
                "--prompt-tokens", "16", "--new-tokens", "4", "--runs", "2", "--threads", "2", "--out", out.toString());
    }

    @Test
    void theTableHasARowPerFormatWithItsNumbers() {
        assertEquals(0, run.exitCode(), run::describe);
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.get(0).startsWith("woq bench: tiny; 2 threads; prompt 16 tokens, 4 new tokens, 2 runs;"), run.out());
        assertTrue(lines.get(1).startsWith("format") && lines.get(1).contains("decode tok/s"), run.out());
        assertTrue(lines.get(2).startsWith("bf16 "), run.out());
        assertTrue(lines.get(3).startsWith("int8-g32 "), run.out());
        assertTrue(lines.get(4).startsWith("int4-q32 "), run.out());
        assertTrue(run.err().contains("quantizing it first"), "missing entries are quantized first: " + run.err());
    }

    @Test
    void benchJsonHoldsPositiveMeasurementsForEveryFormatAndTheBandwidth() throws IOException {
        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("bench.json"))).getAsJsonObject();
        assertTrue(json.get("memory_read_gb_per_second").getAsDouble() > 0.5);
        JsonArray formats = json.getAsJsonArray("formats");
        assertEquals(3, formats.size());
        List<String> names = List.of("bf16", "int8-g32", "int4-q32");
        for (int i = 0; i < 3; i++) {
            JsonObject f = formats.get(i).getAsJsonObject();
            assertEquals(names.get(i), f.get("format").getAsString());
            for (String key : List.of("disk_bytes", "load_seconds", "median_decode_step_ms", "weight_bytes_per_token",
                    "decode_weight_gb_per_second", "peak_rss_bytes")) {
                assertTrue(f.get(key).getAsDouble() > 0, key + " of " + f);
            }
            JsonObject decode = f.getAsJsonObject("decode_tokens_per_second");
            assertTrue(decode.get("min").getAsDouble() <= decode.get("median").getAsDouble()
                    && decode.get("median").getAsDouble() <= decode.get("max").getAsDouble(), decode.toString());
            assertTrue(f.getAsJsonObject("time_to_first_token_ms").get("median").getAsDouble() > 0);
            assertEquals(2, f.getAsJsonArray("runs").size());
        }
        long bf16Disk = formats.get(0).getAsJsonObject().get("disk_bytes").getAsLong();
        long int4Disk = formats.get(2).getAsJsonObject().get("disk_bytes").getAsLong();
        assertTrue(int4Disk < bf16Disk, "int4 takes less disk than bf16");
    }

    @Test
    void benchPngIsAReadableChart() throws IOException {
        BufferedImage image = ImageIO.read(out.resolve("bench.png").toFile());
        assertEquals(3 * BenchChart.PANEL_WIDTH, image.getWidth());
        assertEquals(BenchChart.TITLE_HEIGHT + BenchChart.PANEL_HEIGHT, image.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 20, "bars, text and axes, not a blank image: " + colours.size() + " colours");
        assertTrue(colours.contains(0xFF1F77B4), "the decode bars are drawn");
        try (var files = Files.list(out)) {
            assertEquals(Set.of("bench.json", "bench.png"),
                    new HashSet<>(files.map(p -> p.getFileName().toString()).toList()), "no temporary files left");
        }
    }

    @Test
    void jsonFlagPrintsTheReportInsteadOfTheTable() {
        Cli.Result r = Cli.run("bench", "--model", model.toString(), "--dtypes", "bf16", "--prompt-tokens", "8",
                "--new-tokens", "2", "--runs", "1", "--threads", "2", "--json", "--out", tmp.resolve("b2").toString());
        assertEquals(0, r.exitCode(), r::describe);
        JsonObject json = JsonParser.parseString(r.out()).getAsJsonObject();
        assertEquals(1, json.getAsJsonArray("formats").size());
        assertEquals(8, json.get("prompt_tokens").getAsInt());
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingIsLoadedOrWritten() {
        Path nothing = tmp.resolve("never");
        record Case(List<String> args, String message) {}
        for (Case c : List.of(
                new Case(List.of("--dtypes", "bf16,int3"), "Unknown dtype 'int3'"),
                new Case(List.of("--runs", "0"), "--runs must be at least 1, got 0"),
                new Case(List.of("--new-tokens", "1"), "--new-tokens must be at least 2"),
                new Case(List.of("--dtypes", "int8,int8"), "--dtypes lists int8 twice"),
                new Case(List.of("--dtypes", "bf16", "--group-size", "64"), "--group-size applies to int4"),
                new Case(List.of("--dtypes", "bf16", "--prompt-tokens", "8190", "--new-tokens", "8"),
                        "--prompt-tokens 8190 plus --new-tokens 8 is more than the model's context of 8192 tokens"))) {
            List<String> args = new java.util.ArrayList<>(List.of("bench", "--model", model.toString(),
                    "--woq-home", tmp.resolve("home2").toString(), "--out", nothing.toString()));
            args.addAll(c.args());
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertEquals(Main.EXIT_USER_ERROR, r.exitCode(), r::describe);
            assertTrue(r.err().contains(c.message()), c.message() + " in " + r.err());
            assertFalse(r.err().contains("loaded in"), r.err());
        }
        assertFalse(Files.exists(nothing), "nothing written");
        assertFalse(Files.exists(tmp.resolve("home2").resolve("registry").resolve("tiny")), "nothing quantized");
    }
}
