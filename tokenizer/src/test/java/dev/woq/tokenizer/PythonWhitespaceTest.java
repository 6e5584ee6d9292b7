package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PythonWhitespaceTest {

    @Test
    void stripsWhatPythonStrStripStrips() {
        assertEquals("a b", PythonWhitespace.strip(" \t\n\r\u000B\f a b \u001C\u001F"));
        assertEquals("a", PythonWhitespace.strip("\u00A0\u0085\u2007\u202F\u3000a\u2028\u205F"));
        assertEquals("", PythonWhitespace.strip(" \n "));
    }

    @Test
    void keepsWhatPythonStrStripKeeps() {
        // Zero-width space and BOM are not whitespace to Python.
        assertEquals("\u200Ba\uFEFF", PythonWhitespace.strip("\u200Ba\uFEFF"));
    }
}
