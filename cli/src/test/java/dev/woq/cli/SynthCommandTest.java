package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.safetensors.SafetensorsFile;
import dev.woq.runtime.synth.SyntheticPreset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq synth}: the files it writes and the mistakes it refuses. */
class SynthCommandTest {
    private static final String PROMPT_IDS = "128000,2028,374,264,1296,11914,13";

    @TempDir
    static Path tmp;

    private static Path tiny;
    private static Cli.Result synthRun;

    @BeforeAll
    static void writeTinyCheckpoint() {
        tiny = tmp.resolve("tiny");
        synthRun = Cli.run("synth", "--preset", "tiny", "--out", tiny.toString(), "--tokenizer", Cli.tokenizer().toString());
        assertEquals(0, synthRun.exitCode(), synthRun::describe);
    }

    @Test
    void writesTheHuggingFaceLayoutOfLlama3() throws IOException {
        assertEquals(tiny.toString(), synthRun.out().strip(), "stdout is the directory written");

        LlamaConfig config = LlamaConfig.load(tiny);
        assertEquals(SyntheticPreset.TINY.config(), config);
        JsonObject raw = parse(tiny.resolve("config.json"));
        assertEquals("llama", raw.get("model_type").getAsString());
        assertEquals("LlamaForCausalLM", raw.getAsJsonArray("architectures").get(0).getAsString());

        JsonObject generation = parse(tiny.resolve("generation_config.json"));
        assertEquals(128000, generation.get("bos_token_id").getAsInt());
        assertTrue(generation.has("eos_token_id"));

        assertEquals(-1, Files.mismatch(Cli.tokenizer(), tiny.resolve("tokenizer.json")), "the real tokenizer, copied as is");
        assertEquals("<|begin_of_text|>", parse(tiny.resolve("tokenizer_config.json")).get("bos_token").getAsString());

        SafetensorsFile weights = SafetensorsFile.open(tiny.resolve("model.safetensors"));
        assertTrue(weights.tensor("model.embed_tokens.weight").isPresent());
        assertTrue(weights.tensor("lm_head.weight").isPresent());
        assertFalse(Files.exists(tiny.resolve("model.safetensors.index.json")), "one file needs no index");
    }

    @Test
    void refusesAnExistingOutDirectoryWithOneLineAndNoStackTrace() throws IOException {
        byte[] before = Files.readAllBytes(tiny.resolve("config.json"));

        Cli.Result r = Cli.run("synth", "--preset", "tiny", "--out", tiny.toString(), "--tokenizer", Cli.tokenizer().toString());

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains(tiny.toString()), r::describe);
        assertTrue(r.err().contains("already exists"), r::describe);
        assertArrayEquals(before, Files.readAllBytes(tiny.resolve("config.json")), "the existing checkpoint is untouched");
    }

    @Test
    void forceReplacesAnExistingCheckpoint() throws IOException {
        Path out = tmp.resolve("replaced");
        Cli.Result first = Cli.run("synth", "--preset", "tiny", "--out", out.toString(), "--seed", "1",
                "--tokenizer", Cli.tokenizer().toString());
        assertEquals(0, first.exitCode(), first::describe);
        byte[] before = Files.readAllBytes(out.resolve("model.safetensors"));

        Cli.Result again = Cli.run("synth", "--preset", "tiny", "--out", out.toString(), "--seed", "2", "--force",
                "--tokenizer", Cli.tokenizer().toString());

        assertEquals(0, again.exitCode(), again::describe);
        assertFalse(java.util.Arrays.equals(before, Files.readAllBytes(out.resolve("model.safetensors"))),
                "another seed, other weights");
    }

    @Test
    void forceRefusesToDeleteADirectoryThatIsNotACheckpoint() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("notes"));
        Files.writeString(out.resolve("keep.txt"), "mine");

        Cli.Result r = Cli.run("synth", "--preset", "tiny", "--out", out.toString(), "--force",
                "--tokenizer", Cli.tokenizer().toString());

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        assertTrue(r.err().contains("not a checkpoint"), r::describe);
        assertEquals("mine", Files.readString(out.resolve("keep.txt")));
    }

    @Test
    void unknownPresetFailsNamingThePresets() {
        Path out = tmp.resolve("huge");

        Cli.Result r = Cli.run("synth", "--preset", "llama3-405b", "--out", out.toString(), "--tokenizer", Cli.tokenizer().toString());

        assertEquals(1, r.exitCode(), r::describe);
        assertOneLineError(r);
        for (String name : List.of("llama3-405b", "tiny", "small", "llama3-8b")) {
            assertTrue(r.err().contains(name), () -> "should name " + name + ": " + r.describe());
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void smallShardSizeWritesNumberedShardsWithAnIndexThatStillLoadsAndGenerates() throws IOException {
        // The tiny preset's embedding and LM head are 33 MB each: 40 MB shards give at least two.
        Path sharded = Cli.synthTiny(tmp.resolve("sharded"), "--shard-size", "40000000");

        Pattern shardName = Pattern.compile("model-(\\d{5})-of-(\\d{5})\\.safetensors");
        List<String> shards;
        try (Stream<Path> files = Files.list(sharded)) {
            shards = files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().toList();
        }
        assertTrue(shards.size() >= 2, "shards: " + shards);
        for (int i = 0; i < shards.size(); i++) {
            Matcher m = shardName.matcher(shards.get(i));
            assertTrue(m.matches(), "not a Hugging Face shard name: " + shards.get(i));
            assertEquals(i + 1, Integer.parseInt(m.group(1)));
            assertEquals(shards.size(), Integer.parseInt(m.group(2)));
        }
        JsonObject index = parse(sharded.resolve("model.safetensors.index.json"));
        assertTrue(index.getAsJsonObject("weight_map").has("lm_head.weight"));
        assertFalse(Files.exists(sharded.resolve("model.safetensors")));

        // Same seed, same weights: greedy decoding gives the same tokens from either layout.
        String[] greedy = {"--prompt-ids", PROMPT_IDS, "--temperature", "0", "--max-new-tokens", "4", "--json"};
        int[] fromShards = Cli.ids(Cli.run(concat(new String[] {"generate", "--model", sharded.toString()}, greedy)).json(), "generated_ids");
        int[] fromOneFile = Cli.ids(Cli.run(concat(new String[] {"generate", "--model", tiny.toString()}, greedy)).json(), "generated_ids");
        assertEquals(4, fromShards.length);
        assertArrayEquals(fromOneFile, fromShards);
    }

    static void assertOneLineError(Cli.Result r) {
        String err = r.err().strip();
        assertTrue(err.startsWith("woq: "), r::describe);
        assertEquals(1, err.lines().count(), () -> "one line expected: " + r.describe());
        assertFalse(err.contains("Exception") || err.contains("\tat "), () -> "no stack trace expected: " + r.describe());
    }

    @Test
    void llmLikeWeightsAreHeavyTailedWhereRandomOnesAreGaussian() throws IOException {
        Path llm = tmp.resolve("tiny-llm");
        Cli.Result r = Cli.run("synth", "--preset", "tiny", "--weights", "llm-like", "--out", llm.toString(),
                "--tokenizer", Cli.tokenizer().toString());
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.err().contains("llm-like weights"), r::describe);
        String name = "model.layers.0.mlp.up_proj.weight";
        double heavy = kurtosis(SafetensorsFile.open(llm.resolve("model.safetensors")).tensor(name).orElseThrow());
        double gaussian = kurtosis(SafetensorsFile.open(tiny.resolve("model.safetensors")).tensor(name).orElseThrow());
        assertTrue(heavy > 6, "llm-like kurtosis " + heavy);
        assertEquals(3.0, gaussian, 0.3, "random kurtosis");
    }

    @Test
    void unknownWeightsKindIsRefusedNamingTheChoices() {
        Cli.Result r = Cli.run("synth", "--preset", "tiny", "--weights", "trained", "--out",
                tmp.resolve("never").toString(), "--tokenizer", Cli.tokenizer().toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("Unknown weights 'trained'") && r.err().contains("llm-like"), r::describe);
        assertFalse(Files.exists(tmp.resolve("never")));
    }

    /** Kurtosis (4th standardized moment) of a bf16 tensor. */
    private static double kurtosis(dev.woq.runtime.safetensors.TensorInfo t) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(Math.toIntExact(t.byteLength()))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(t.file())) {
            long pos = t.fileOffset();
            while (buf.hasRemaining()) {
                pos += ch.read(buf, pos);
            }
        }
        buf.flip();
        int n = buf.remaining() / 2;
        double[] w = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            w[i] = Float.intBitsToFloat((buf.getShort() & 0xFFFF) << 16);
            mean += w[i] / n;
        }
        double m2 = 0;
        double m4 = 0;
        for (double v : w) {
            double d = (v - mean) * (v - mean);
            m2 += d / n;
            m4 += d * d / n;
        }
        return m4 / (m2 * m2);
    }

    private static JsonObject parse(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    private static String[] concat(String[] a, String[] b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
