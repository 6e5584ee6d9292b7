package dev.woq.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the pieces that the tokenizer's {@code Split} pre-tokenizer would produce, so
 * that each piece can be encoded on its own with the same result as encoding the whole text.
 *
 * <p>It exists for one case: text that contains the spelling of a special token, such as a user
 * message that says {@code "<|eot_id|>"}. The native tokenizer always turns such text into the
 * control token, while Meta's reference tokenizer (tiktoken with no special tokens allowed)
 * encodes it as ordinary text. Llama 3's split regex never keeps a whole {@code <|...|>} in one
 * piece (letters and punctuation fall into different pieces), so encoding the pieces one by one
 * reproduces Meta's plain-text tokens.
 *
 * <p>Java's regex engine stands in for Oniguruma here. With {@link
 * Pattern#UNICODE_CHARACTER_CLASS}, {@code \s}, {@code \p{L}} and {@code \p{N}} mean the same
 * Unicode properties, and the tests check that piecewise and whole-text encodings agree.
 */
final class PreTokenizerSplit {

    private final Pattern pattern;

    private PreTokenizerSplit(Pattern pattern) {
        this.pattern = pattern;
    }

    /**
     * Compiles a {@code tokenizer.json} split regex.
     *
     * @param regex the regex as written in {@code tokenizer.json}
     * @return the splitter
     * @throws java.util.regex.PatternSyntaxException if Java's engine cannot compile it
     */
    static PreTokenizerSplit compile(String regex) {
        return new PreTokenizerSplit(Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS));
    }

    /**
     * Splits text into pieces whose concatenation is the text. Text between matches (there is
     * none for Llama 3's regex, which matches every character) becomes a piece of its own, as
     * with the {@code Isolated} split behaviour.
     *
     * @param text the text
     * @return the non-empty pieces, in order
     */
    List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher matcher = pattern.matcher(text);
        int end = 0;
        while (matcher.find()) {
            if (matcher.start() > end) {
                pieces.add(text.substring(end, matcher.start()));
            }
            if (matcher.end() > matcher.start()) {
                pieces.add(matcher.group());
            }
            end = matcher.end();
        }
        if (end < text.length()) {
            pieces.add(text.substring(end));
        }
        return pieces;
    }
}
