package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.util.ProcessMemory;
import dev.woq.tokenizer.Llama3Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chat of more than 10,000 tokens through {@code woq chat} with a 512-token context: the oldest
 * turns are dropped as documented (said once, the context never overflows), every message is
 * answered, it exits 0, and the process's native memory stays where a short chat left it.
 */
class LongChatTest {
    static final int CONTEXT = 512;
    static final int TURNS = 54;
    static final long BOUND_BYTES = 64L << 20;

    @TempDir
    static Path tmp;

    private static Path model;

    @BeforeAll
    static void writeTinyCheckpoint() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
    }

    @Test
    void tenThousandTokensInASmallContextAreTrimmedWithoutCrashOrGrowth() {
        Llama3Tokenizer tokenizer = Llama3Tokenizer.load(Cli.tokenizer());
        // warm-up: the same chat, long enough to trim (allocator pools, the kernels' first runs
        // at every prompt length, the weights' pages)
        Cli.Result warm = chat(messages(6), CONTEXT);
        assertTrue(warm.err().contains("the oldest turns are dropped"), warm::describe);
        assertEquals(0, warm.exitCode(), warm::describe);
        long before = settledNativeBytes();

        List<String> lines = messages(TURNS);
        long userTokens = lines.stream().mapToLong(l -> tokenizer.encode(l).length).sum();
        assertTrue(userTokens >= 10_000, "the user's messages alone are " + userTokens + " tokens");
        Cli.Result r = chat(lines, CONTEXT);
        long after = settledNativeBytes();

        assertEquals(0, r.exitCode(), r::describe);
        String notice = "the oldest turns are dropped";
        assertTrue(r.err().contains("outgrew its 512-token context") && r.err().contains(notice), r.err());
        assertEquals(r.err().indexOf(notice), r.err().lastIndexOf(notice), "told once");
        Matcher used = Pattern.compile("context: ([\\d,]+) of 512 tokens used").matcher(r.out());
        assertTrue(used.find(), r::describe);
        assertTrue(Integer.parseInt(used.group(1).replace(",", "")) <= CONTEXT, used.group());
        long growth = after - before;
        System.out.printf("LongChatTest: %d user tokens in %d turns; native memory %d -> %d MiB (%+d KiB)%n",
                userTokens, TURNS, before >> 20, after >> 20, growth >> 10);
        assertTrue(growth < BOUND_BYTES, "native memory grew by " + (growth >> 20) + " MiB over the long chat");
    }

    /** {@code count} distinct user messages of about 200 tokens each. */
    private static List<String> messages(int count) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder("Message ").append(i).append(':');
            for (int w = 0; w < 150; w++) {
                b.append(' ').append(WORDS[(i * 7 + w) % WORDS.length]);
            }
            lines.add(b.append('?').toString());
        }
        return lines;
    }

    private static final String[] WORDS = {"llamas", "graze", "on", "high", "plateaus", "where", "thin", "air",
        "and", "cold", "nights", "shape", "their", "wool,", "herders", "count", "them", "at", "dusk", "again"};

    private static Cli.Result chat(List<String> lines, int context) {
        String input = String.join("\n", lines) + "\n/stats\n";
        return Cli.runWithInput(input, "chat", "--model", model.toString(), "--threads", "2", "--context",
                String.valueOf(context), "--max-new-tokens", "16", "--system", "Be brief.", "--tokenizer",
                Cli.tokenizer().toString());
    }

    /**
     * Anonymous resident memory (RSS where not reported) after a GC and {@code malloc_trim}, once
     * it has settled: what is still allocated, not what glibc keeps for reuse after a burst.
     */
    private static long settledNativeBytes() {
        System.gc();
        ProcessMemory.trimNativeHeap();
        long last = -1;
        for (int i = 0; i < 20; i++) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = ProcessMemory.anonymousRssBytes() > 0 ? ProcessMemory.anonymousRssBytes() : ProcessMemory.rssBytes();
            if (last >= 0 && Math.abs(now - last) < (1 << 20)) {
                return now;
            }
            last = now;
        }
        return last;
    }
}
