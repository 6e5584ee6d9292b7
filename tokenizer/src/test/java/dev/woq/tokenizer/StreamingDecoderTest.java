package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

    private static final String REPLACEMENT = "\uFFFD";

    private static Llama3Tokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() {
        tokenizer = RealTokenizer.get();
    }

    /** Pushes ids one at a time and returns every chunk, the flush included. */
    private static List<String> stream(StreamingDecoder decoder, int[] ids) {
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            chunks.add(decoder.push(id));
        }
        chunks.add(decoder.flush());
        return chunks;
    }

    private static void assertStreamsBackToOriginal(String text) {
        List<String> chunks = stream(new StreamingDecoder(tokenizer), tokenizer.encode(text));
        for (String chunk : chunks) {
            assertFalse(chunk.contains(REPLACEMENT), "chunk " + chunk + " of " + text);
        }
        assertEquals(text, String.join("", chunks));
    }

    @Test
    void streamsChineseTextWithoutReplacementCharacters() {
        assertStreamsBackToOriginal("你好，世界！今天天气很好。");
    }

    @Test
    void streamsEmojiTextWithoutReplacementCharacters() {
        assertStreamsBackToOriginal("I ❤️ 🦙 llamas 👍🏽");
    }

    @Test
    void streamsMixedScriptTextWithoutReplacementCharacters() {
        assertStreamsBackToOriginal("Mixed: café, 你好, 🦙 and ❤️! 𠮷野家 龘 e\u0301 ١٢٣ <|eot_id|>");
        for (String text : Llama3TokenizerTest.SAMPLE_TEXTS) {
            assertStreamsBackToOriginal(text);
        }
    }

    @Test
    void holdsBackEmojiUntilItsLastByteArrives() {
        // "🦙" is F0 9F A6 99; Llama 3 spells " 🦙" as " \xF0\x9F" + "\xA6" + "\x99".
        assertArrayEquals(new int[] {11410, 99, 247}, tokenizer.encode(" 🦙"));
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals(" ", decoder.push(11410));
        assertEquals("", decoder.push(99));
        assertEquals("🦙", decoder.push(247));
        assertEquals("", decoder.flush());
    }

    @Test
    void holdsBackChineseCharacterSplitAcrossTokens() {
        // "龘" is E9 BE 98, which Llama 3 splits into "\xE9\xBE" + "\x98".
        assertArrayEquals(new int[] {84012, 246}, tokenizer.encode("龘"));
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals("", decoder.push(84012));
        assertEquals("龘", decoder.push(246));
    }

    @Test
    void keepsSurrogatePairTogetherForFourByteCharacterSplitByteByByte() {
        // "𠮷" (U+20BB7) is four single-byte tokens; the pair of UTF-16 chars comes out whole.
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals("", decoder.push(172));
        assertEquals("", decoder.push(254));
        assertEquals("", decoder.push(106));
        assertEquals("𠮷", decoder.push(115));
    }

    @Test
    void skipsSpecialTokensByDefaultWithoutDisturbingHeldBackBytes() {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals("", decoder.push(128000));
        assertEquals("", decoder.push(84012));
        assertEquals("", decoder.push(128009));
        assertEquals("龘", decoder.push(246));
        assertEquals("", decoder.flush());
    }

    @Test
    void emitsSpecialTokenSpellingWhenAskedTo() {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer, false);
        assertEquals("Hi", decoder.push(13347));
        assertEquals("<|eot_id|>", decoder.push(128009));
    }

    @Test
    void flushTurnsUnfinishedCharacterIntoReplacementCharacter() {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals("", decoder.push(84012));
        assertEquals(REPLACEMENT, decoder.flush());
        // The decoder is reset and usable for the next sequence.
        assertEquals("Hi", decoder.push(13347));
    }

    @Test
    void emitsReplacementAsSoonAsBytesCanNeverBeValid() {
        // A lone F0 lead byte followed by "I" is invalid UTF-8, not an incomplete character.
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        assertEquals("", decoder.push(172));
        assertEquals(REPLACEMENT + "I", decoder.push(40));
    }
}
