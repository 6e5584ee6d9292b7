package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code --help}: options with their defaults, and worked examples at the end. */
class HelpTest {
    @Test
    void woqHelpListsTheCommandsAndEndsWithExamples() {
        String help = help("--help");

        for (String command : List.of("synth", "generate", "chat", "quantize", "registry", "bench", "eval", "help")) {
            assertTrue(help.contains("  " + command + " "), () -> "no " + command + " in:\n" + help);
        }
        assertTrue(help.contains("--version"), help);
        List<String> lines = help.lines().toList();
        int commands = lines.indexOf("Commands:");
        assertEquals(List.of("synth", "generate", "chat", "quantize", "registry", "bench", "serve", "eval", "export",
                        "import", "index", "search", "ask", "batch", "help"),
                lines.subList(commands + 1, lines.indexOf("")).stream().map(l -> l.strip().split(" ")[0]).toList(),
                () -> "one summary line per command:\n" + help);
        assertEndsWithExamples(help, "woq generate");
    }

    @Test
    void batchHelpShowsDefaultsAndEndsWithExamples() {
        String help = help("batch", "--help");
        String flat = help.replaceAll("\\s+", " ");
        assertTrue(flat.contains("(default: spark-submit's --master, else local[*])"), help);
        assertTrue(flat.contains("(default: error)"), help);
        assertTrue(flat.contains("(default: 8)"), help);
        assertTrue(help.lines().allMatch(l -> l.length() <= 80), help);
        assertEndsWithExamples(help, "woq batch");
    }

    @Test
    void generateHelpShowsDefaultsAndEndsWithExamples() {
        String help = help("generate", "--help");

        for (String option : List.of("--max-new-tokens", "--temperature", "--top-p", "--top-k", "--repetition-penalty",
                "--seed", "--threads")) {
            String line = optionText(help, option);
            assertTrue(line.contains("default"), () -> option + " does not say its default:\n" + help);
        }
        assertTrue(help.contains("(default: 256)"), help);
        assertTrue(help.contains("(default: 0.6"), help);
        assertEndsWithExamples(help, "woq generate --model");
    }

    @Test
    void synthHelpShowsDefaultsAndEndsWithExamples() {
        String help = help("synth", "--help");

        assertTrue(help.contains("tiny") && help.contains("small") && help.contains("llama3-8b"), help);
        assertTrue(optionText(help, "--seed").contains("(default: 0)"), help);
        assertTrue(optionText(help, "--shard-size").contains("(default: 5000000000)"), help);
        assertTrue(optionText(help, "--tokenizer").contains("default"), help);
        assertEndsWithExamples(help, "woq synth --preset");
    }

    @Test
    void helpCommandPrintsTheSameAsHelpOption() {
        assertEquals(help("generate", "--help"), help("help", "generate"));
    }

    private static String help(String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.err().isEmpty(), r::describe);
        return r.out();
    }

    /** The option's description: its line and the continuation lines up to the next option. */
    private static String optionText(String help, String option) {
        Matcher m = Pattern.compile("^ +(-\\w, )?" + Pattern.quote(option) + "[= ]", Pattern.MULTILINE).matcher(help);
        assertTrue(m.find(), () -> "no " + option + " in:\n" + help);
        Matcher next = Pattern.compile("^ +-|^$", Pattern.MULTILINE).matcher(help);
        int end = next.find(m.end()) ? next.start() : help.length();
        return help.substring(m.start(), end).replaceAll("\\s+", " ");
    }

    /** The last section is "Examples:", every line of it an indented command. */
    private static void assertEndsWithExamples(String help, String firstCommand) {
        List<String> lines = help.strip().lines().toList();
        int heading = lines.lastIndexOf("Examples:");
        assertTrue(heading >= 0, () -> "no Examples: section in:\n" + help);
        List<String> examples = lines.subList(heading + 1, lines.size());
        assertTrue(!examples.isEmpty() && examples.stream().allMatch(l -> l.startsWith("  ")),
                () -> "Examples: must be the last section, with indented commands:\n" + help);
        assertTrue(examples.stream().anyMatch(l -> l.strip().startsWith(firstCommand)), help);
    }
}
