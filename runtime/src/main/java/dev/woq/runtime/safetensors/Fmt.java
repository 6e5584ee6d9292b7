package dev.woq.runtime.safetensors;

import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/** Formats numbers, shapes and name lists the same way in every error message. */
final class Fmt {
    private Fmt() {}

    /** {@code 1234567} as {@code "1,234,567"}, whatever the default locale. */
    static String num(long value) {
        return String.format(Locale.ROOT, "%,d", value);
    }

    /** A shape as {@code "[4096, 4096]"}. */
    static String shape(List<Long> shape) {
        return shape.toString();
    }

    /** Up to {@code max} quoted names, then {@code "and N more"}, so that long lists stay readable. */
    static String names(Collection<String> names, int max) {
        StringBuilder sb = new StringBuilder();
        Iterator<String> it = names.iterator();
        int shown = 0;
        while (it.hasNext() && shown < max) {
            if (shown > 0) {
                sb.append(", ");
            }
            sb.append('\'').append(it.next()).append('\'');
            shown++;
        }
        if (names.size() > shown) {
            sb.append(" and ").append(num(names.size() - shown)).append(" more");
        }
        return sb.toString();
    }
}
