package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks the real Llama 3 tokenizer against ids pinned from Meta's reference: the expected ids
 * were produced by tiktoken (the engine of Meta's {@code llama/tokenizer.py}) with Llama 3's
 * ranks, pattern and no special tokens allowed, and agree with the Hugging Face tokenizer.
 */
class Llama3TokenizerTest {

    private static Llama3Tokenizer tokenizer;

    /** Texts that exercise ASCII, CJK, emoji with modifiers, combining marks and whitespace. */
    static final List<String> SAMPLE_TEXTS = List.of(
            "This is a test sentence.",
            "你好，世界！今天天气很好。",
            "I ❤️ 🦙 llamas 👍🏽",
            "Mixed: café, 你好, 🦙 and ❤️!",
            "𠮷野家 龘 e\u0301 Straße ١٢٣ 123456",
            "1 + 1 = 2\n\n```java\nint x = 42;\n```",
            "  leading and trailing  \n\n\t\r\n",
            "It's, we'LL, they've: 'S");

    @BeforeAll
    static void loadTokenizer() {
        tokenizer = RealTokenizer.get();
    }

    @Test
    void encodesSentenceAsMetaReferenceIds() {
        assertArrayEquals(new int[] {2028, 374, 264, 1296, 11914, 13},
                tokenizer.encode("This is a test sentence."));
    }

    @Test
    void encodesChatHeaderWordsAsSingleTokens() {
        assertArrayEquals(new int[] {9125}, tokenizer.encode("system"));
        assertArrayEquals(new int[] {882}, tokenizer.encode("user"));
        assertArrayEquals(new int[] {78191}, tokenizer.encode("assistant"));
        assertArrayEquals(new int[] {271}, tokenizer.encode("\n\n"));
    }

    @Test
    void encodesChineseAsMetaReferenceIds() {
        String text = "你好，世界！今天天气很好。";
        int[] ids = tokenizer.encode(text);
        assertArrayEquals(
                new int[] {57668, 53901, 3922, 102616, 6447, 110916, 36827, 102146, 101600, 53901,
                    1811},
                ids);
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void encodesEmojiAsMetaReferenceIds() {
        String text = "I ❤️ 🦙 llamas 👍🏽";
        int[] ids = tokenizer.encode(text);
        assertArrayEquals(
                new int[] {40, 71570, 31643, 11410, 99, 247, 9507, 29189, 62904, 235, 9468, 237, 121},
                ids);
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void encodesAccentsAndDigitsInGroupsOfThreeAsMetaReferenceIds() {
        assertArrayEquals(new int[] {3458, 38672, 588, 53050, 220, 4513, 10961},
                tokenizer.encode("naïve café 123456"));
    }

    @Test
    void addsNoBeginOfTextToken() {
        int[] ids = tokenizer.encode("Hello, world!");
        assertArrayEquals(new int[] {9906, 11, 1917, 0}, ids);
        assertArrayEquals(new int[0], tokenizer.encode(""));
    }

    @Test
    void encodesSpecialTokenSpellingInTextAsPlainTextLikeMeta() {
        // tiktoken with allowed_special=set() encodes "<|eot_id|>" as the characters it spells.
        assertArrayEquals(new int[] {9906, 83739, 68, 354, 851, 91, 29, 1917},
                tokenizer.encode("Hello <|eot_id|> world"));
        assertArrayEquals(new int[] {27, 91, 7413, 3659, 4424, 91, 29},
                tokenizer.encode("<|begin_of_text|>"));
        assertEquals("Hello <|eot_id|> world",
                tokenizer.decode(tokenizer.encode("Hello <|eot_id|> world")));
    }

    @Test
    void encodeWithSpecialTokensTurnsSpellingIntoControlToken() {
        assertArrayEquals(new int[] {9906, 220, 128009, 1917},
                tokenizer.encodeWithSpecialTokens("Hello <|eot_id|> world"));
        assertArrayEquals(new int[] {128000}, tokenizer.encodeWithSpecialTokens("<|begin_of_text|>"));
    }

    @Test
    void encodingPreTokenizerPiecesOneByOneEqualsEncodingWholeText() {
        // Guards the plain-text path for special-token spellings: Java's regex must split text
        // exactly where the native (Oniguruma) pre-tokenizer does.
        PreTokenizerSplit split = PreTokenizerSplit.compile(
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
                        + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        for (String text : SAMPLE_TEXTS) {
            List<String> pieces = split.split(text);
            assertEquals(text, String.join("", pieces));
            int[] piecewise = pieces.stream()
                    .flatMapToInt(piece -> Arrays.stream(tokenizer.encodeWithSpecialTokens(piece)))
                    .toArray();
            assertArrayEquals(tokenizer.encodeWithSpecialTokens(text), piecewise, text);
        }
    }

    @Test
    void tokenBytesOfEncodedIdsConcatenateToTextUtf8() {
        for (String text : SAMPLE_TEXTS) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (int id : tokenizer.encode(text)) {
                bytes.writeBytes(tokenizer.tokenBytes(id));
            }
            assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), bytes.toByteArray(), text);
        }
    }

    @Test
    void decodeRoundTripsSampleTexts() {
        for (String text : SAMPLE_TEXTS) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)), text);
        }
    }

    @Test
    void decodeSpellsOutSpecialTokens() {
        assertEquals("<|begin_of_text|>Hi<|eot_id|>",
                tokenizer.decode(new int[] {128000, 13347, 128009}));
    }

    @Test
    void hasLlama3VocabularySizeAndSpecialTokenIds() {
        assertEquals(128256, tokenizer.vocabSize());
        assertEquals(OptionalInt.of(128000), tokenizer.tokenId("<|begin_of_text|>"));
        assertEquals(OptionalInt.of(128001), tokenizer.tokenId("<|end_of_text|>"));
        assertEquals(OptionalInt.of(128006), tokenizer.tokenId("<|start_header_id|>"));
        assertEquals(OptionalInt.of(128007), tokenizer.tokenId("<|end_header_id|>"));
        assertEquals(OptionalInt.of(128009), tokenizer.tokenId("<|eot_id|>"));
        assertEquals(OptionalInt.of(9125), tokenizer.tokenId("system"));
        assertEquals(OptionalInt.of(1917), tokenizer.tokenId("Ġworld"));
        assertEquals(OptionalInt.empty(), tokenizer.tokenId("<|no_such_token|>"));
    }

    @Test
    void marksOnlyAddedControlTokensAsSpecial() {
        for (int id = 128000; id < 128256; id++) {
            assertTrue(tokenizer.isSpecial(id), "id " + id);
        }
        assertFalse(tokenizer.isSpecial(0));
        assertFalse(tokenizer.isSpecial(127999));
        assertFalse(tokenizer.isSpecial(-1));
        assertFalse(tokenizer.isSpecial(128256));
    }

    @Test
    void tokenBytesGiveRawBytesForByteLevelAndSpecialTokens() {
        assertArrayEquals(" world".getBytes(StandardCharsets.UTF_8), tokenizer.tokenBytes(1917));
        assertArrayEquals(new byte[] {'\n', '\n'}, tokenizer.tokenBytes(271));
        // " \xF0\x9F": a space and the first half of a four-byte emoji.
        assertArrayEquals(new byte[] {' ', (byte) 0xF0, (byte) 0x9F}, tokenizer.tokenBytes(11410));
        assertArrayEquals("<|eot_id|>".getBytes(StandardCharsets.UTF_8),
                tokenizer.tokenBytes(128009));
    }

    @Test
    void everyByteValueHasATokenOfItsOwn() {
        // Byte-level BPE can spell any input only if all 256 single bytes are tokens.
        boolean[] seen = new boolean[256];
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            if (bytes.length == 1 && !tokenizer.isSpecial(id)) {
                seen[bytes[0] & 0xFF] = true;
            }
        }
        for (int b = 0; b < 256; b++) {
            assertTrue(seen[b], "no single-byte token for byte " + b);
        }
    }

    @Test
    void tokenBytesRejectIdsOutsideVocabulary() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> tokenizer.tokenBytes(128256));
        assertTrue(e.getMessage().contains("128256"), e.getMessage());
        assertThrows(TokenizerException.class, () -> tokenizer.decode(new int[] {-1}));
    }

    @Test
    void tokenBytesReturnsACopy() {
        tokenizer.tokenBytes(1917)[0] = 'X';
        assertEquals(' ', tokenizer.tokenBytes(1917)[0]);
    }
}
