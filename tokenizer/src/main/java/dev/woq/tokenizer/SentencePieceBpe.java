package dev.woq.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The merge loop of SentencePiece's BPE with byte fallback, as llama.cpp's
 * {@code llm_tokenizer_spm} runs it: the (already normalized) text starts as one symbol per
 * character; the adjacent pair with the best priority is merged, leftmost first among equals,
 * until no pair can merge; every final symbol is its vocabulary token, or the {@code <0xXX>}
 * tokens of its UTF-8 bytes when the vocabulary lacks it.
 *
 * <p>The priority of a pair comes from a {@link PairPriority}: a GGUF vocabulary ranks the merged
 * piece by its SentencePiece score, a Hugging Face {@code tokenizer.json} by the merge's rank.
 */
final class SentencePieceBpe {

    /** How good it is to merge two adjacent symbols. */
    interface PairPriority {
        /**
         * @param left the left symbol's text
         * @param right the right symbol's text
         * @return the priority, higher merges first, or {@link Double#NaN} if the pair never merges
         */
        double of(String left, String right);
    }

    private final Map<String, Integer> idByPiece;
    private final int[] byteTokens;
    private final PairPriority priority;

    /**
     * @param idByPiece the ordinary tokens by their text ({@code ▁} for a space)
     * @param byteTokens the id of {@code <0xXX>} for each byte value
     * @param priority which pairs merge, and in what order
     */
    SentencePieceBpe(Map<String, Integer> idByPiece, int[] byteTokens, PairPriority priority) {
        this.idByPiece = idByPiece;
        this.byteTokens = byteTokens;
        this.priority = priority;
    }

    private record Bigram(int left, int right, double priority, int length) {}

    /**
     * Tokenizes normalized text.
     *
     * @param text the text after normalization (dummy prefix added, spaces as {@code ▁})
     * @return the token ids
     */
    int[] tokenize(String text) {
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, at = 0; i < n; i++) {
            int cp = text.codePointAt(at);
            start[i] = at;
            length[i] = Character.charCount(cp);
            at += length[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // Highest priority first; among equals the leftmost, as llama.cpp's comparator orders them.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.priority != b.priority
                ? Double.compare(b.priority, a.priority) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            addBigram(queue, text, start, length, i - 1, i);
        }
        while (!queue.isEmpty()) {
            Bigram bigram = queue.poll();
            int left = bigram.left;
            int right = bigram.right;
            // Stale: one side was merged away or grew since this pair was queued.
            if (length[left] == 0 || length[right] == 0
                    || length[left] + length[right] != bigram.length || next[left] != right) {
                continue;
            }
            length[left] += length[right];
            length[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            if (prev[left] >= 0) {
                addBigram(queue, text, start, length, prev[left], left);
            }
            if (next[left] >= 0) {
                addBigram(queue, text, start, length, left, next[left]);
            }
        }
        int[] out = new int[text.length() * 4 + 1];
        int count = 0;
        for (int i = 0; n > 0 && i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + length[i]);
            Integer id = idByPiece.get(piece);
            if (id != null) {
                out[count++] = id;
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    out[count++] = byteToken(b & 0xff);
                }
            }
        }
        return java.util.Arrays.copyOf(out, count);
    }

    private void addBigram(PriorityQueue<Bigram> queue, String text, int[] start, int[] length,
            int left, int right) {
        String l = text.substring(start[left], start[left] + length[left]);
        String r = text.substring(start[right], start[right] + length[right]);
        double p = priority.of(l, r);
        if (!Double.isNaN(p)) {
            queue.add(new Bigram(left, right, p, length[left] + length[right]));
        }
    }

    private int byteToken(int value) {
        int id = byteTokens[value];
        if (id < 0) {
            throw new TokenizerException(String.format("the vocabulary has no byte token <0x%02X>,"
                    + " so a character it lacks cannot be encoded", value));
        }
        return id;
    }
}
