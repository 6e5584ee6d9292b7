package dev.woq.tokenizer;

/**
 * The inverse of GPT-2's byte-level {@code bytes_to_unicode} table, which Llama 3's
 * {@code tokenizer.json} uses to spell its byte-level tokens as printable characters.
 *
 * <p>GPT-2 maps each of the 256 byte values to one character so that vocabularies can be stored
 * as text: printable Latin-1 bytes stand for themselves, and the others (control bytes, space,
 * a few Latin-1 gaps) are moved to U+0100 and up, in byte order. Inverting that table turns a
 * vocabulary entry such as {@code "Ġthe"} back into the raw bytes {@code " the"} the model saw.
 */
final class ByteLevelAlphabet {

    /** Highest character the table uses: 256 bytes, of which 68 are moved up past U+00FF. */
    private static final int MAX_CHAR = 0x143;

    /** Byte for each character of the table, or -1 where a character is not part of it. */
    private static final int[] BYTE_OF_CHAR = buildInverse();

    private ByteLevelAlphabet() {}

    private static int[] buildInverse() {
        int[] inverse = new int[MAX_CHAR + 1];
        java.util.Arrays.fill(inverse, -1);
        int moved = 0;
        for (int b = 0; b < 256; b++) {
            if (standsForItself(b)) {
                inverse[b] = b;
            } else {
                inverse[256 + moved] = b;
                moved++;
            }
        }
        return inverse;
    }

    /** The byte ranges GPT-2 keeps as their own Latin-1 character: '!'..'~', '¡'..'¬', '®'..'ÿ'. */
    private static boolean standsForItself(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /**
     * Decodes a byte-level token spelling into its raw bytes.
     *
     * @param token the token as spelled in {@code tokenizer.json}'s vocabulary
     * @return the raw bytes, one per character
     * @throws IllegalArgumentException if a character is not part of the byte-level alphabet
     */
    static byte[] decode(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c <= MAX_CHAR ? BYTE_OF_CHAR[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException(String.format(
                        "character U+%04X at index %d of token %s is not a byte-level character",
                        (int) c, i, quoted(token)));
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }

    private static String quoted(String token) {
        return '"' + token.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
