package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.tokenizer.Llama2Tokenizer;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.TokenizerFamily;
import dev.woq.tokenizer.TokenizerLocations;
import dev.woq.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Llama 2's SentencePiece vocabulary through GGUF: both ways of rebuilding the tokenizer from a
 * GGUF's metadata give the reference ids of tokenizer/src/test/resources/llama2 (two independent
 * JavaScript tokenizers), and a Llama 2 model keeps its tokenizer and chat template through
 * export and import.
 */
class Llama2GgufVocabularyTest {

    /** The fixture is the tokenizer module's; tests run in the runtime module's directory. */
    private static final Path REFERENCE = Path.of("..", "tokenizer", "src", "test", "resources", "llama2",
            "llama2-reference.json");

    private static Path llama2Json;
    private static JsonObject reference;

    @TempDir
    Path dir;

    @BeforeAll
    static void realTokenizerAndReference() throws IOException {
        llama2Json = TokenizerLocations.defaultLlama2TokenizerJson();
        if (!Files.isRegularFile(llama2Json)) {
            fail("Llama 2 tokenizer not found at " + llama2Json + ": run scripts/fetch-tokenizer.sh first");
        }
        reference = JsonParser.parseString(Files.readString(REFERENCE, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    @Test
    void tokenizerFromGgufScoresEncodesLikeTheReference() {
        Path file = dir.resolve("vocab.gguf");
        try (GgufWriter w = new GgufWriter(file, Llama2Vocabulary.fromTokenizerJson(llama2Json, 32000).metadata(), List.of())) {
            w.commit();
        }
        try (GgufReader r = GgufReader.open(file)) {
            Llama2Vocabulary vocab = assertInstanceOf(Llama2Vocabulary.class, GgufVocabulary.read(r));
            assertEquals(GgufKeys.TOKEN_BYTE, vocab.types().get(3 + 0x0A), "<0x0A> is a byte token");
            assertEquals(GgufKeys.TOKEN_UNKNOWN, vocab.types().get(0));
            assertEquals(GgufKeys.TOKEN_CONTROL, vocab.types().get(2));
            Llama2Tokenizer byScores = Llama2Tokenizer.fromGgufVocabulary(file, vocab.tokens(), vocab.scoreArray(),
                    vocab.typeArray());
            assertMatchesReference(byScores);
        }
    }

    @Test
    void tokenizerJsonRebuiltFromGgufHasMetasMergesAndEncodesLikeTheReference() throws IOException {
        Llama2Vocabulary vocab = Llama2Vocabulary.fromTokenizerJson(llama2Json, 32000);
        Path rebuilt = dir.resolve("tokenizer.json");
        Files.writeString(rebuilt, vocab.toTokenizerJson(), StandardCharsets.UTF_8);
        // Scores from merge ranks, merges back from scores: the original file's merges, in its order
        // up to the runs of spaces ("▁▁▁▁"), which Meta's model scores alike and the rebuilt file
        // orders by first use.
        List<String> original = merges(llama2Json);
        List<String> back = merges(rebuilt);
        assertEquals(new java.util.HashSet<>(original), new java.util.HashSet<>(back));
        assertEquals(original.size(), back.size());
        for (int i = 0; i < original.size(); i++) {
            if (!original.get(i).equals(back.get(i))) {
                assertTrue(original.get(i).matches("\u2581+ \u2581+") && back.get(i).matches("\u2581+ \u2581+"),
                        "merge " + i + ": " + original.get(i) + " vs " + back.get(i));
            }
        }
        assertEquals(TokenizerFamily.LLAMA2, Tokenizers.family(rebuilt));
        assertMatchesReference(Llama2Tokenizer.load(rebuilt));
    }

    @Test
    void llama2ModelKeepsItsTokenizerChatTemplateAndLogitsThroughExportAndImport() throws IOException {
        Path src = llama2Checkpoint();
        Path file = dir.resolve("tiny2.gguf");
        LlamaGgufExporter.export(src, WeightFormat.BF16, file, "tiny2", (a, b) -> {});
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals("llama", r.requireString(GgufKeys.TOKENIZER_MODEL));
            assertEquals(reference.get("chat_template").getAsString(), r.requireString(GgufKeys.CHAT_TEMPLATE));
        }
        Path imported = dir.resolve("imported");
        LlamaGgufImporter.importTo(file, imported, false, (a, b) -> {});
        try (Tokenizer tokenizer = Tokenizers.load(imported.resolve("tokenizer.json"))) {
            assertEquals(TokenizerFamily.LLAMA2, tokenizer.family());
            assertMatchesReference(tokenizer);
        }
        JsonObject config = JsonParser.parseString(Files.readString(imported.resolve("tokenizer_config.json")))
                .getAsJsonObject();
        assertEquals(reference.get("chat_template").getAsString(), config.get("chat_template").getAsString());
        assertEquals("<s>", config.get("bos_token").getAsString());
        assertEquals("</s>", config.get("eos_token").getAsString());
        int[] prompt = Llama2Tokenizer.load(llama2Json).encode("Hello world!");
        assertArrayEquals(logits(src, prompt), logits(imported, prompt));
    }

    private Path llama2Checkpoint() throws IOException {
        Path out = Files.createDirectories(dir.resolve("src-tiny2"));
        try (var files = Files.list(TestCheckpoints.tinyLlama2())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (!name.startsWith("tokenizer")) {
                    Files.createSymbolicLink(out.resolve(name), f.toAbsolutePath());
                }
            }
        }
        Files.copy(llama2Json, out.resolve("tokenizer.json"));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("bos_token", "<s>");
        config.put("eos_token", "</s>");
        config.put("chat_template", reference.get("chat_template").getAsString());
        Files.writeString(out.resolve("tokenizer_config.json"), new com.google.gson.Gson().toJson(config));
        return out;
    }

    private static void assertMatchesReference(Tokenizer tokenizer) {
        int checked = 0;
        for (JsonElement e : reference.getAsJsonArray("encodings")) {
            JsonObject o = e.getAsJsonObject();
            String text = o.get("text").getAsString();
            int[] ids = new int[o.getAsJsonArray("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = o.getAsJsonArray("ids").get(i).getAsInt();
            }
            assertArrayEquals(ids, tokenizer.encode(text), () -> "ids of \"" + text + "\" from " + tokenizer.path());
            assertEquals(o.get("decoded").getAsString(), tokenizer.decode(ids));
            checked++;
        }
        assertTrue(checked >= 30, checked + " reference texts");
    }

    private static List<String> merges(Path tokenizerJson) throws IOException {
        JsonObject model = JsonParser.parseString(Files.readString(tokenizerJson, StandardCharsets.UTF_8))
                .getAsJsonObject().getAsJsonObject("model");
        List<String> out = new ArrayList<>();
        model.getAsJsonArray("merges").forEach(m -> out.add(m.getAsString()));
        return out;
    }

    private static float[] logits(Path model, int[] prompt) {
        try (LlamaModel m = LlamaModel.load(TorchRuntime.start(2), model);
                InferenceSession s = m.newSession(prompt.length + 1)) {
            int[] withBos = new int[prompt.length + 1];
            withBos[0] = 1;
            System.arraycopy(prompt, 0, withBos, 1, prompt.length);
            return s.prefill(withBos);
        }
    }
}
