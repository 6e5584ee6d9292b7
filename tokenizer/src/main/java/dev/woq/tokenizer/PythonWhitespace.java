package dev.woq.tokenizer;

/**
 * Python's {@code str.strip()} with no argument, which Meta's chat format applies to message
 * content.
 *
 * <p>Java's {@link String#strip()} is close but not the same: Python's {@code str.isspace()}
 * also counts no-break spaces (U+00A0, U+2007, U+202F) and NEXT LINE (U+0085) as whitespace,
 * which Java's {@link Character#isWhitespace(int)} does not. Prompts must tokenize exactly as
 * Meta's reference does, so the Python set is spelled out here.
 */
final class PythonWhitespace {

    private PythonWhitespace() {}

    /**
     * Tells whether Python's {@code str.isspace()} is true for a one-character string.
     *
     * @param c a UTF-16 code unit; every Python whitespace character is in the BMP
     * @return true for the characters CPython's {@code _PyUnicode_IsWhitespace} accepts
     */
    static boolean isWhitespace(char c) {
        switch (c) {
            case '\t': case '\n': case '\u000B': case '\f': case '\r':
            case '\u001C': case '\u001D': case '\u001E': case '\u001F':
            case ' ': case '\u0085': case '\u00A0': case '\u1680':
            case '\u2028': case '\u2029': case '\u202F': case '\u205F': case '\u3000':
                return true;
            default:
                return c >= '\u2000' && c <= '\u200A';
        }
    }

    /**
     * Removes leading and trailing whitespace as Python's {@code str.strip()} does.
     *
     * @param s the text
     * @return {@code s} without Python whitespace at either end
     */
    static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isWhitespace(s.charAt(start))) {
            start++;
        }
        while (end > start && isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }
}
