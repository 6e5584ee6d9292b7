package dev.woq.server;

import java.util.List;

/**
 * OpenAI's {@code stop}: generated text is shown up to, not including, the first stop string.
 * Text that could be the start of a stop string is held back until the next piece decides it,
 * so a stop string split across tokens never leaks to the client.
 */
final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Takes newly generated text and returns what may be shown now. */
    String feed(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int at = -1;
        for (String stop : stops) {
            int i = pending.indexOf(stop);
            if (i >= 0 && (at < 0 || i < at)) {
                at = i;
            }
        }
        if (at >= 0) {
            stopped = true;
            String shown = pending.substring(0, at);
            pending.setLength(0);
            return shown;
        }
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, pending.length()); k > hold; k--) {
                if (pending.length() >= k && pending.substring(pending.length() - k).equals(stop.substring(0, k))) {
                    hold = k;
                    break;
                }
            }
        }
        String shown = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return shown;
    }

    /** Whether a stop string was generated: the request ends with finish_reason "stop". */
    boolean stopped() {
        return stopped;
    }

    /** At the end of generation: the held-back text, which turned out not to be a stop string. */
    String flush() {
        String rest = stopped ? "" : pending.toString();
        pending.setLength(0);
        return rest;
    }
}
