package dev.woq.rag;

import java.text.BreakIterator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Passages of whole sentences, packed up to a budget of the embedding model's word pieces (its
 * [CLS] and [SEP] included), preferring to end at a paragraph once half full; the next passage
 * repeats the last sentences of the previous one, up to {@code overlap} tokens. A sentence longer
 * than the budget is cut at white space (a word longer than that, at characters). Every passage is
 * checked with the tokenizer itself: none ever exceeds what the model sees, so none is truncated
 * silently.
 */
final class TokenBudgetChunker implements Chunker {
    private static final Pattern PARAGRAPH_BREAK = Pattern.compile("\\n[ \\t\\x0B\\f\\r]*\\n\\s*");

    private final Embedder embedder;
    private final int budget;
    private final int overlap;
    /** Tokens a passage may hold besides the model's special tokens. */
    private final int content;

    TokenBudgetChunker(Embedder embedder, int budget, int overlap) {
        if (budget > embedder.maxTokens()) {
            throw new dev.woq.runtime.ConfigException("chunks of " + budget + " tokens exceed what "
                    + embedder.modelId() + " sees (" + embedder.maxTokens() + "): it would cut them silently."
                    + " Use --chunk-tokens " + embedder.maxTokens() + " or less");
        }
        this.embedder = embedder;
        this.budget = budget;
        this.overlap = overlap;
        this.content = budget - embedder.countTokens("");
    }

    /** A sentence (or piece of one): characters [start, end), its word pieces without specials. */
    private record Unit(int start, int end, int tokens, boolean opensParagraph) {}

    @Override
    public List<Span> split(String text) {
        Deque<Unit> units = new ArrayDeque<>(units(text));
        List<Span> spans = new ArrayList<>();
        List<Unit> current = new ArrayList<>();
        int used = 0;
        int carried = 0; // how many of current's units repeat the previous passage
        do {
            while (!units.isEmpty()) {
                Unit next = units.peekFirst();
                boolean full = used + next.tokens() > content;
                boolean paragraphEnd = next.opensParagraph() && used >= content / 2;
                if (current.size() > carried && (full || paragraphEnd)) {
                    used = emit(text, current, units, spans);
                    carried = current.size();
                    continue;
                }
                if (full) { // only the overlap is there, and the next sentence does not fit beside it
                    current.clear();
                    used = 0;
                    carried = 0;
                }
                current.add(units.pollFirst());
                used += next.tokens();
            }
            if (current.size() > carried) {
                // The final check may hand sentences back to the queue: then go on.
                used = emit(text, current, units, spans);
                carried = current.size();
            }
        } while (!units.isEmpty());
        return spans;
    }

    /**
     * Closes the passage in {@code current} (after checking it with the tokenizer; sentences that
     * tip it over go back to {@code queue}), then starts the next one with its overlap.
     *
     * @return the tokens the next passage starts with
     */
    private int emit(String text, List<Unit> current, Deque<Unit> queue, List<Span> spans) {
        while (current.size() > 1 && embedder.countTokens(span(current).text(text)) > budget) {
            queue.addFirst(current.remove(current.size() - 1));
        }
        Span span = span(current);
        int counted = embedder.countTokens(span.text(text));
        if (counted > budget) {
            throw new IllegalStateException("a piece of " + counted + " tokens escaped the cut at " + budget);
        }
        spans.add(span);
        // Overlap: the trailing sentences that fit in `overlap` tokens, never the whole passage.
        List<Unit> carried = new ArrayList<>();
        int tokens = 0;
        for (int i = current.size() - 1; i >= 1; i--) {
            Unit u = current.get(i);
            if (tokens + u.tokens() > overlap) {
                break;
            }
            carried.add(0, u);
            tokens += u.tokens();
        }
        Unit following = queue.peekFirst();
        if (following != null && tokens + following.tokens() > content) {
            carried.clear();
            tokens = 0;
        }
        current.clear();
        current.addAll(carried);
        return tokens;
    }

    private static Span span(List<Unit> units) {
        return new Span(units.get(0).start(), units.get(units.size() - 1).end());
    }

    /** The sentences of {@code text}, each within the budget. */
    private List<Unit> units(String text) {
        // Sentences are found on a copy where single line breaks are spaces (same offsets), since a
        // PDF breaks lines inside sentences; blank lines mark paragraphs.
        String flat = text.replace('\n', ' ').replace('\r', ' ');
        List<Unit> units = new ArrayList<>();
        Matcher breaks = PARAGRAPH_BREAK.matcher(text);
        int paragraphStart = 0;
        while (paragraphStart < text.length()) {
            boolean found = breaks.find();
            int paragraphEnd = found ? breaks.start() : text.length();
            int resume = found ? breaks.end() : text.length();
            sentences(text, flat, paragraphStart, paragraphEnd, units);
            paragraphStart = resume;
        }
        return units;
    }

    private void sentences(String text, String flat, int from, int to, List<Unit> out) {
        BreakIterator it = BreakIterator.getSentenceInstance(Locale.ROOT);
        it.setText(flat.substring(from, to));
        boolean first = true;
        int start = it.first();
        for (int end = it.next(); end != BreakIterator.DONE; start = end, end = it.next()) {
            int s = from + start;
            int e = from + end;
            if (text.substring(s, e).isBlank()) {
                continue;
            }
            addWithinBudget(text, s, e, first, out);
            first = false;
        }
    }

    /** Adds [start, end) as one unit, or as pieces cut at white space when it is over the budget. */
    private void addWithinBudget(String text, int start, int end, boolean opensParagraph, List<Unit> out) {
        int tokens = pieceTokens(text.substring(start, end));
        if (tokens <= content) {
            out.add(new Unit(start, end, tokens, opensParagraph));
            return;
        }
        int pieceStart = start;
        int pieceTokens = 0;
        int i = start;
        while (i < end) {
            int wordEnd = i;
            while (wordEnd < end && !Character.isWhitespace(text.charAt(wordEnd))) {
                wordEnd++;
            }
            while (wordEnd < end && Character.isWhitespace(text.charAt(wordEnd))) {
                wordEnd++;
            }
            int wordTokens = pieceTokens(text.substring(i, wordEnd));
            if (wordTokens > content) {
                // One "word" over the whole budget (a long token string): cut at characters; a
                // character is at most one word piece.
                if (pieceStart < i) {
                    out.add(new Unit(pieceStart, i, pieceTokens, opensParagraph && pieceStart == start));
                }
                for (int c = i; c < wordEnd; c += content) {
                    int ce = Math.min(wordEnd, c + content);
                    out.add(new Unit(c, ce, pieceTokens(text.substring(c, ce)), opensParagraph && c == start));
                }
                pieceStart = wordEnd;
                pieceTokens = 0;
            } else if (pieceTokens + wordTokens > content) {
                out.add(new Unit(pieceStart, i, pieceTokens, opensParagraph && pieceStart == start));
                pieceStart = i;
                pieceTokens = wordTokens;
            } else {
                pieceTokens += wordTokens;
            }
            i = wordEnd;
        }
        if (pieceStart < end && !text.substring(pieceStart, end).isBlank()) {
            out.add(new Unit(pieceStart, end, pieceTokens, opensParagraph && pieceStart == start));
        }
    }

    private int pieceTokens(String piece) {
        return embedder.countTokens(piece) - (budget - content);
    }
}
