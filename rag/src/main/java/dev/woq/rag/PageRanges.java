package dev.woq.rag;

import java.util.List;

/** Page numbers as people write them: {@code 3-7, 9}. */
final class PageRanges {
    private PageRanges() {}

    static String format(List<Integer> ascending) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < ascending.size()) {
            int start = ascending.get(i);
            int end = start;
            while (i + 1 < ascending.size() && ascending.get(i + 1) == end + 1) {
                end = ascending.get(++i);
            }
            sb.append(sb.length() == 0 ? "" : ", ").append(start);
            if (end > start) {
                sb.append('-').append(end);
            }
            i++;
        }
        return sb.toString();
    }
}
