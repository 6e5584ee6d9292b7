package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {
    @Test
    void aStopStringSplitAcrossPiecesNeverShows() {
        StopStrings s = new StopStrings(List.of("END"));
        assertEquals("The ", s.feed("The "));
        assertEquals("", s.feed("E"), "'E' may start END: held back");
        assertEquals("", s.feed("N"));
        assertEquals("", s.feed("Dgame"));
        assertTrue(s.stopped());
        assertEquals("", s.flush());
    }

    @Test
    void heldBackTextIsShownOnceItIsNotAStopString() {
        StopStrings s = new StopStrings(List.of("END"));
        assertEquals("a", s.feed("aE"));
        assertEquals("Ex", s.feed("x"));
        assertEquals("", s.feed("EN"));
        assertEquals("EN", s.flush(), "generation ended: what was held back was text after all");
        assertFalse(s.stopped());
    }

    @Test
    void theEarliestOfSeveralStopStringsWins() {
        StopStrings s = new StopStrings(List.of("world", "lo"));
        assertEquals("hel", s.feed("hello world"));
        assertTrue(s.stopped());
    }

    @Test
    void withoutStopStringsEverythingShowsAtOnce() {
        StopStrings s = new StopStrings(List.of());
        assertEquals("abc", s.feed("abc"));
        assertEquals("", s.flush());
    }
}
