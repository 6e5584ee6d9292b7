package dev.woq.rag;

/**
 * A passage as the prompt numbered it: the answer cites it as {@code [n]}.
 *
 * @param n its number in the prompt, from 1
 * @param hit the retrieved passage
 */
public record Source(int n, Hit hit) {}
