package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class Llama2TokenizerTest {

    private static final Llama2Tokenizer TOKENIZER = Llama2Reference.tokenizer();

    @Test
    void encodesEveryReferenceTextToTheReferenceIds() {
        List<Llama2Reference.Encoding> encodings = Llama2Reference.encodings();
        assertTrue(encodings.size() >= 30, "the fixture has " + encodings.size() + " texts");
        for (Llama2Reference.Encoding e : encodings) {
            assertArrayEquals(e.ids(), TOKENIZER.encode(e.text()), () -> "ids of " + quoted(e.text()));
        }
    }

    @Test
    void decodesTheReferenceIdsToTheReferenceText() {
        for (Llama2Reference.Encoding e : Llama2Reference.encodings()) {
            assertEquals(e.decoded(), TOKENIZER.decode(e.ids()), () -> "decoding of " + quoted(e.text()));
        }
    }

    @Test
    void streamingDecodeJoinsToTheDecodedTextWithoutReplacementCharacters() {
        for (Llama2Reference.Encoding e : Llama2Reference.encodings()) {
            StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
            StringBuilder streamed = new StringBuilder();
            for (int id : e.ids()) {
                String piece = decoder.push(id);
                assertFalse(piece.contains("\uFFFD"), () -> "a broken character while streaming " + quoted(e.text()));
                streamed.append(piece);
            }
            streamed.append(decoder.flush());
            assertEquals(e.decoded(), streamed.toString(), () -> "streamed " + quoted(e.text()));
        }
    }

    @Test
    void emojiOutsideTheVocabularyFallBackToTheirUtf8Bytes() {
        // U+1F999 (llama) is F0 9F A6 99; <0xXX> has id 3 + XX.
        int[] ids = TOKENIZER.encode("\uD83E\uDD99");
        assertArrayEquals(new int[] {29871, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}, ids);
        StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
        assertEquals("", decoder.push(ids[0]) + decoder.push(ids[1]) + decoder.push(ids[2]) + decoder.push(ids[3]));
        assertEquals("\uD83E\uDD99", decoder.push(ids[4]));
    }

    @Test
    void controlTokensAreSpecialAndTheirSpellingStaysPlainText() {
        assertEquals(1, TOKENIZER.tokenId("<s>").getAsInt());
        assertEquals(2, TOKENIZER.tokenId("</s>").getAsInt());
        assertEquals(0, TOKENIZER.tokenId("<unk>").getAsInt());
        assertTrue(TOKENIZER.isSpecial(1) && TOKENIZER.isSpecial(2) && TOKENIZER.isSpecial(0));
        assertFalse(TOKENIZER.isSpecial(15043));
        for (int id : TOKENIZER.encode("</s><s>")) {
            assertFalse(TOKENIZER.isSpecial(id), "</s> typed by a user must not end the turn");
        }
        assertEquals(32000, TOKENIZER.vocabSize());
        assertEquals(TokenizerFamily.LLAMA2, TOKENIZER.family());
    }

    @Test
    void tokenizersLoadPicksTheFamilyFromTheFile() {
        try (Tokenizer llama2 = Tokenizers.load(TokenizerLocations.defaultLlama2TokenizerJson());
                Tokenizer llama3 = Tokenizers.load(RealTokenizer.path())) {
            assertEquals(TokenizerFamily.LLAMA2, llama2.family());
            assertEquals(TokenizerFamily.LLAMA3, llama3.family());
            assertTrue(llama2 instanceof Llama2Tokenizer);
            assertTrue(llama3 instanceof Llama3Tokenizer);
        }
    }

    private static String quoted(String text) {
        return '"' + text.replace("\n", "\\n") + '"';
    }
}
