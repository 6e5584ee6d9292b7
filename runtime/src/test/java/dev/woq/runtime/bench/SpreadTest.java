package dev.woq.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SpreadTest {
    @Test
    void medianOfAnOddCountIsTheMiddleValueAndTheRangeIsMinToMax() {
        assertEquals(new Spread(3, 1, 9), Spread.of(9, 1, 3));
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
        assertEquals(new Spread(2.5, 1, 4), Spread.of(4, 1, 3, 2));
    }

    @Test
    void noValuesIsRefused() {
        assertThrows(IllegalArgumentException.class, Spread::of);
    }
}
