package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.StreamingDecoder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq generate} on a tiny random-weight checkpoint: what it prints, and that it is reproducible. */
class GenerateCommandTest {
    private static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13};
    private static final int VOCAB = 128256;
    /** The end ids of the synthetic checkpoints' config.json and generation_config.json. */
    private static final Set<Integer> STOP_IDS = Set.of(128001, 128009);
    private static final String SYSTEM = "You are a terse assistant.";
    private static final String USER = "What is the capital of France?";

    @TempDir
    static Path tmp;

    private static Path model;
    private static Llama3Tokenizer tokenizer;

    @BeforeAll
    static void writeTinyCheckpoint() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
        tokenizer = Llama3Tokenizer.load(Cli.tokenizer());
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    @Test
    void jsonPrintsOneObjectWithIdsTextTimingsAndMemory() {
        JsonObject json = generate("--prompt-ids", Cli.csv(PROMPT), "--temperature", "0", "--max-new-tokens", "8",
                "--json").json();

        assertArrayEquals(PROMPT, Cli.ids(json, "prompt_ids"));
        int[] generated = Cli.ids(json, "generated_ids");
        assertTrue(generated.length == 8 || (generated.length < 8 && STOP_IDS.contains(generated[generated.length - 1])),
                () -> "8 ids or ending in a stop id: " + json);
        assertEquals(decode(generated), json.get("text").getAsString());
        assertTrue(json.get("time_to_first_token_ms").getAsDouble() > 0, json::toString);
        assertTrue(json.get("prefill_tokens_per_second").getAsDouble() > 0, json::toString);
        if (generated.length > 1) {
            assertTrue(json.get("decode_tokens_per_second").getAsDouble() > 0, json::toString);
        }
        assertTrue(json.get("load_seconds").getAsDouble() >= 0, json::toString);
        assertTrue(json.get("peak_rss_bytes").getAsLong() > 0, json::toString);
    }

    @Test
    void logitsOutHoldsTheFirstTokensLogitsWhoseArgmaxIsTheGreedyToken() throws IOException {
        Path logits = tmp.resolve("first.f32");

        JsonObject json = generate("--prompt-ids", Cli.csv(PROMPT), "--temperature", "0", "--max-new-tokens", "8",
                "--json", "--logits-out", logits.toString()).json();

        byte[] bytes = Files.readAllBytes(logits);
        assertEquals(VOCAB * 4, bytes.length);
        FloatBuffer floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        int argmax = 0;
        for (int i = 1; i < VOCAB; i++) {
            assertTrue(Float.isFinite(floats.get(i)), "logit " + i);
            if (floats.get(i) > floats.get(argmax)) {
                argmax = i;
            }
        }
        assertEquals(Cli.ids(json, "generated_ids")[0], argmax);
    }

    @Test
    void sameSeedAndSamplingSettingsGiveTheSameTokens() {
        String[] args = {"--prompt-ids", Cli.csv(PROMPT), "--temperature", "0.8", "--top-p", "0.9", "--seed", "1234",
                "--max-new-tokens", "16", "--json"};

        JsonObject first = generate(args).json();
        JsonObject second = generate(args).json();

        assertEquals(1234, first.get("seed").getAsLong());
        assertArrayEquals(Cli.ids(first, "generated_ids"), Cli.ids(second, "generated_ids"));
    }

    @Test
    void aSmallPrefillChunkGivesTheFirstTokenOfOnePass() {
        String[] args = {"--prompt-ids", Cli.csv(PROMPT), "--temperature", "0", "--max-new-tokens", "1", "--json"};
        int onePass = Cli.ids(generate(args).json(), "generated_ids")[0];
        String[] chunked = Arrays.copyOf(args, args.length + 2);
        chunked[args.length] = "--prefill-chunk";
        chunked[args.length + 1] = "3";

        assertEquals(onePass, Cli.ids(generate(chunked).json(), "generated_ids")[0]);
    }

    @Test
    void aPrefillChunkBelowOneIsRefusedInOneLine() {
        Cli.Result r = generate("--prompt-ids", Cli.csv(PROMPT), "--prefill-chunk", "0");

        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("prefill chunk must be at least 1 token, got 0"), r::describe);
    }

    @Test
    void greedyDecodingIsDeterministic() {
        String[] args = {"--prompt-ids", Cli.csv(PROMPT), "--temperature", "0", "--max-new-tokens", "16", "--json"};

        int[] first = Cli.ids(generate(args).json(), "generated_ids");
        int[] second = Cli.ids(generate(args).json(), "generated_ids");

        assertArrayEquals(first, second);
    }

    @Test
    void chatPromptIsTheLlama3ChatTemplatesEncodingOfTheDialog() {
        JsonObject json = generate("--chat", "--system", SYSTEM, "--prompt", USER, "--temperature", "0",
                "--max-new-tokens", "4", "--json").json();

        int[] expected = new Llama3ChatTemplate(tokenizer).encodeDialogPrompt(
                List.of(new Message(Role.SYSTEM, SYSTEM), new Message(Role.USER, USER)));
        assertArrayEquals(expected, Cli.ids(json, "prompt_ids"));
    }

    @Test
    void streamPrintsTheDecodersTextToStdoutTokenByToken() {
        String[] chat = {"--chat", "--system", SYSTEM, "--prompt", USER, "--temperature", "0", "--max-new-tokens", "12"};
        Cli.FlushRecorder stdout = new Cli.FlushRecorder();

        Cli.Result streamed = Cli.run(stdout, concat(concat(new String[] {"generate", "--model", model.toString()}, chat), "--stream"));
        JsonObject json = generate(concat(chat, "--json")).json(); // greedy: the same tokens, with their ids

        assertEquals(0, streamed.exitCode(), streamed::describe);
        String expected = decode(Cli.ids(json, "generated_ids"));
        assertEquals(expected + System.lineSeparator(), streamed.out());
        assertEquals(expected, json.get("text").getAsString());
        // Incremental: stdout was flushed with more text several times before the end.
        List<String> partial = stdout.snapshots.stream().filter(s -> s.length() < expected.length()).toList();
        assertTrue(partial.size() >= 2, () -> "stdout flushed only at " + stdout.snapshots + " for " + expected);
        assertFalse(streamed.err().isBlank(), "stats go to stderr");
    }

    @Test
    void plainPromptGetsABeginOfTextTokenAndPrintsItsContinuation() {
        Cli.Result r = generate("--prompt", "This is a test sentence.", "--temperature", "0", "--max-new-tokens", "4");
        JsonObject json = generate("--prompt", "This is a test sentence.", "--temperature", "0", "--max-new-tokens", "4",
                "--json").json();

        assertEquals(0, r.exitCode(), r::describe);
        assertArrayEquals(PROMPT, Cli.ids(json, "prompt_ids"), "BOS + Meta's ids of the text");
        assertEquals(json.get("text").getAsString() + System.lineSeparator(), r.out());
    }

    private static Cli.Result generate(String... args) {
        return Cli.run(concat(new String[] {"generate", "--model", model.toString()}, args));
    }

    /** What the streaming decoder makes of {@code ids}: whole characters, special tokens skipped. */
    private static String decode(int[] ids) {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(decoder.push(id));
        }
        return sb.append(decoder.flush()).toString();
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
