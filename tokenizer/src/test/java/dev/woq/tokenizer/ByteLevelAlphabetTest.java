package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteLevelAlphabetTest {

    @Test
    void decodesPrintableCharactersAsThemselves() {
        assertArrayEquals(new byte[] {'t', 'h', 'e'}, ByteLevelAlphabet.decode("the"));
        assertArrayEquals(new byte[] {(byte) 0xE9}, ByteLevelAlphabet.decode("é"));
    }

    @Test
    void decodesMovedCharactersToControlAndSpaceBytes() {
        // GPT-2 moves byte 0 to U+0100, space to U+0120 'Ġ' and newline to U+010A 'Ċ'.
        assertArrayEquals(new byte[] {0}, ByteLevelAlphabet.decode("\u0100"));
        assertArrayEquals(new byte[] {' ', 't'}, ByteLevelAlphabet.decode("Ġt"));
        assertArrayEquals(new byte[] {'\n'}, ByteLevelAlphabet.decode("Ċ"));
        assertArrayEquals(new byte[] {(byte) 0xAD}, ByteLevelAlphabet.decode("\u0143"));
    }

    @Test
    void rejectsCharactersOutsideTheByteLevelAlphabet() {
        assertThrows(IllegalArgumentException.class, () -> ByteLevelAlphabet.decode(" "));
        assertThrows(IllegalArgumentException.class, () -> ByteLevelAlphabet.decode("你"));
    }
}
