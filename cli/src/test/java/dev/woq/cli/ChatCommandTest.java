package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq chat} with piped input (no terminal) on the tiny checkpoint. */
class ChatCommandTest {
    @TempDir
    static Path tmp;

    private static Path model;

    @BeforeAll
    static void writeTinyCheckpoint() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
    }

    /** Runs {@code woq chat} with {@code input} on stdin, as {@code printf ... | woq chat} does. */
    private static Cli.Result chat(String input, String... args) {
        List<String> all = new ArrayList<>(List.of("chat", "--model", model.toString(), "--threads", "2"));
        all.addAll(List.of(args));
        return Cli.runWithInput(input, all.toArray(String[]::new));
    }

    @Test
    void pipedChatAnswersEachLineAndItsFirstReplyIsWhatGenerateSaysToTheSameMessage() {
        Cli.Result r = chat("What is the capital of France?\nAnd of Spain?\n",
                "--system", "Be brief.", "--temperature", "0", "--max-new-tokens", "12");
        assertEquals(0, r.exitCode(), r::describe);
        Cli.Result once = Cli.run("generate", "--model", model.toString(), "--threads", "2", "--chat",
                "--system", "Be brief.", "--prompt", "What is the capital of France?",
                "--temperature", "0", "--max-new-tokens", "12");
        assertEquals(0, once.exitCode(), once::describe);
        // Replies are separated by a newline (a reply may hold newlines of its own).
        assertTrue(r.out().startsWith(once.out()), r.describe() + "\n--- generate ---\n" + once.out());
        assertTrue(r.out().length() > once.out().length() + 1, "the second message was answered too");
        assertTrue(r.err().contains("loaded in") && r.err().contains("context 8,192 tokens"), r.err());
        assertTrue(!r.out().contains(ChatLoop.PROMPT), "no prompt when piped");
    }

    @Test
    void streamedAndWholeRepliesPrintTheSameText() {
        String input = "Hello!\nTell me more.\n";
        Cli.Result whole = chat(input, "--seed", "5", "--max-new-tokens", "10");
        Cli.Result streamed = chat(input, "--seed", "5", "--max-new-tokens", "10", "--stream");
        assertEquals(0, whole.exitCode(), whole::describe);
        assertEquals(whole.out(), streamed.out());
    }

    @Test
    void statsShowThatTheSecondTurnReusedTheFirstFromTheCache() {
        Cli.Result r = chat("A first question that is fairly long, so that its history has many tokens?\n"
                + "Short one.\n/stats\n", "--temperature", "0", "--max-new-tokens", "6");
        assertEquals(0, r.exitCode(), r::describe);
        Matcher m = Pattern.compile("prompt: (\\d+) tokens computed \\((\\d+) reused from the cache\\)").matcher(r.out());
        assertTrue(m.find(), r::describe);
        int computed = Integer.parseInt(m.group(1));
        int reused = Integer.parseInt(m.group(2));
        assertTrue(reused > 25 && computed < 15, "computed " + computed + ", reused " + reused);
        assertTrue(r.out().contains("context: ") && r.out().contains(" of 8,192 tokens used"), r.out());
        assertTrue(r.out().contains("first token after"), r.out());
    }

    @Test
    void commandsResetSetTheSystemPromptAndExplainUnknownOnes() {
        Cli.Result r = chat("/help\n/system You are a pirate.\n/system\n/frobnicate\nHi\n/reset\n/stats\n/exit\nnever read\n",
                "--max-new-tokens", "3");
        assertEquals(0, r.exitCode(), r::describe);
        String out = r.out();
        assertTrue(out.contains("/reset") && out.contains("/stats") && out.contains("/exit"), out);
        assertTrue(out.contains("system prompt: You are a pirate."), out);
        assertTrue(out.contains("Unknown command /frobnicate: /help lists the commands"), out);
        assertTrue(out.contains("(new conversation)"), out);
        assertTrue(out.contains("no reply yet; context: "), out);
        assertEquals(out.indexOf("(new conversation)"), out.lastIndexOf("(new conversation)"));
    }

    @Test
    void aMessageTooLongForTheContextIsReportedAndTheChatGoesOnButTheExitCodeSaysSo() {
        Cli.Result r = chat("word ".repeat(100) + "\nHi\n", "--context", "48", "--max-new-tokens", "4");
        assertEquals(Main.EXIT_USER_ERROR, r.exitCode(), r::describe);
        assertTrue(r.err().contains("but the conversation holds 48"), r.err());
        assertTrue(!r.out().isBlank(), "the second message was answered: " + r.describe());
    }

    @Test
    void outgrowingTheContextDropsOldTurnsAndSaysSoOnce() {
        StringBuilder input = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            input.append("Question ").append(i).append(" about the weather in the mountains?\n");
        }
        Cli.Result r = chat(input.toString(), "--context", "100", "--max-new-tokens", "12", "--system", "Short answers.");
        assertEquals(0, r.exitCode(), r::describe);
        String notice = "the oldest turns are dropped";
        assertTrue(r.err().contains(notice), r.err());
        assertEquals(r.err().indexOf(notice), r.err().lastIndexOf(notice), "told once: " + r.err());
    }

    @Test
    void aContextLargerThanTheModelsIsRefusedBeforeChatting() {
        Cli.Result r = chat("Hi\n", "--context", "9000");
        assertEquals(Main.EXIT_USER_ERROR, r.exitCode(), r::describe);
        assertTrue(r.err().contains("--context 9000 is more than the model's context of 8192 tokens"), r.err());
    }

    @Test
    void badSamplingValuesAreRefusedBeforeTheModelLoads() {
        Cli.Result r = chat("Hi\n", "--top-p", "1.5");
        assertEquals(Main.EXIT_USER_ERROR, r.exitCode(), r::describe);
        assertTrue(r.err().contains("top-p must be in (0, 1], got 1.5"), r.err());
        assertTrue(!r.err().contains("loaded in"), r.err());
    }
}
