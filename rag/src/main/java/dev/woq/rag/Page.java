package dev.woq.rag;

/**
 * The text of one page.
 *
 * @param number the page number, from 1; 0 for a file without pages (.txt, .md)
 * @param text the page's text as extracted
 */
public record Page(int number, String text) {}
