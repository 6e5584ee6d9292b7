package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading and failure modes, mostly with a tiny byte-level tokenizer written by the test. */
class TokenizerLoadingTest {

    @TempDir
    Path dir;

    @Test
    void missingTokenizerFileGivesTokenizerExceptionNamingPathAndFetchScript() {
        Path missing = dir.resolve("nowhere").resolve("tokenizer.json");
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama3Tokenizer.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("scripts/fetch-tokenizer.sh"), e.getMessage());
    }

    @Test
    void invalidJsonGivesTokenizerExceptionNamingPath() throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama3Tokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("scripts/fetch-tokenizer.sh"), e.getMessage());
    }

    @Test
    void jsonWithoutVocabularyGivesTokenizerException() throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}");
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama3Tokenizer.load(file));
        assertTrue(e.getMessage().contains("vocab"), e.getMessage());
    }

    @Test
    void loadsByteLevelTokenizerFromFileOrDirectory() throws IOException {
        Path file = writeByteLevelTokenizer(dir);
        for (Path where : new Path[] {file, dir}) {
            try (Llama3Tokenizer tokenizer = Llama3Tokenizer.load(where)) {
                assertEquals(file, tokenizer.path());
                assertEquals(256, tokenizer.vocabSize());
                int[] ids = tokenizer.encode("hé");
                assertArrayEquals(new int[] {'h', 0xC3, 0xA9}, ids);
                assertEquals("hé", tokenizer.decode(ids));
                assertArrayEquals(new byte[] {' '}, tokenizer.tokenBytes(' '));
                assertEquals(OptionalInt.of(' '), tokenizer.tokenId("Ġ"));
            }
        }
    }

    @Test
    void chatTemplateNamesMissingControlToken() throws IOException {
        try (Llama3Tokenizer tokenizer = Llama3Tokenizer.load(writeByteLevelTokenizer(dir))) {
            TokenizerException e = assertThrows(TokenizerException.class,
                    () -> new Llama3ChatTemplate(tokenizer));
            assertTrue(e.getMessage().contains("<|begin_of_text|>"), e.getMessage());
        }
    }

    @Test
    void encodingAfterCloseFailsClearly() throws IOException {
        Llama3Tokenizer tokenizer = Llama3Tokenizer.load(writeByteLevelTokenizer(dir));
        tokenizer.close();
        tokenizer.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> tokenizer.encode("x"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    /**
     * Writes a BPE tokenizer whose vocabulary is the 256 single bytes and which has no merges,
     * so token id = byte value, spelled with GPT-2's byte-level characters.
     */
    static Path writeByteLevelTokenizer(Path dir) throws IOException {
        JsonObject vocab = new JsonObject();
        int moved = 0;
        for (int b = 0; b < 256; b++) {
            boolean itself = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            char c = itself ? (char) b : (char) (256 + moved++);
            vocab.addProperty(String.valueOf(c), b);
        }
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("vocab", vocab);
        model.add("merges", new JsonArray());
        JsonObject byteLevel = new JsonObject();
        byteLevel.addProperty("type", "ByteLevel");
        byteLevel.addProperty("add_prefix_space", false);
        byteLevel.addProperty("trim_offsets", true);
        byteLevel.addProperty("use_regex", true);
        JsonObject root = new JsonObject();
        root.add("added_tokens", new JsonArray());
        root.add("pre_tokenizer", byteLevel);
        root.add("decoder", byteLevel);
        root.add("model", model);
        return Files.writeString(dir.resolve("tokenizer.json"), root.toString(),
                StandardCharsets.UTF_8);
    }
}
