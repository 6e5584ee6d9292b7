package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.tokenizer.TokenizerLocations;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import picocli.CommandLine;

/** Runs the real {@code woq} command line in-process and captures what it prints. */
final class Cli {
    private Cli() {}

    /** One run: its exit code and everything it printed to stdout and stderr. */
    record Result(int exitCode, String out, String err) {
        /** Stdout parsed as the single JSON object {@code --json} prints. */
        JsonObject json() {
            assertEquals(0, exitCode, () -> "woq failed: " + err);
            String trimmed = out.strip();
            assertEquals(1, trimmed.lines().count(), () -> "stdout should be one JSON line, was: " + out);
            return JsonParser.parseString(trimmed).getAsJsonObject();
        }

        /** For diagnostics in assertion messages. */
        String describe() {
            return "exit " + exitCode + "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
        }
    }

    /** Runs {@code woq args...}. */
    static Result run(String... args) {
        return run(new StringWriter(), args);
    }

    /** Runs {@code woq args...} with stdout going to {@code out} (for tests that watch it being written). */
    static Result run(Writer out, String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        PrintWriter outWriter = new PrintWriter(out);
        PrintWriter errWriter = new PrintWriter(err);
        cli.setOut(outWriter);
        cli.setErr(errWriter);
        int code = cli.execute(args);
        outWriter.flush();
        errWriter.flush();
        return new Result(code, out.toString(), err.toString());
    }

    /** Runs {@code woq args...} with {@code input} on stdin, as {@code printf ... | woq ...} does. */
    static Result runWithInput(String input, String... args) {
        return runWithInput(input, new StringWriter(), args);
    }

    /** {@link #runWithInput(String, String...)} with stdout going to {@code out}. */
    static Result runWithInput(String input, Writer out, String... args) {
        InputStream stdin = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            return run(out, args);
        } finally {
            System.setIn(stdin);
        }
    }

    /**
     * The real Llama 3 tokenizer, from system property {@code woq.tokenizer} (the parent pom's
     * Surefire configuration sets it). A missing file fails the test rather than skipping it.
     */
    static Path tokenizer() {
        Path path = TokenizerLocations.defaultTokenizerJson();
        if (!Files.isRegularFile(path)) {
            fail("Llama 3 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh first"
                    + " (tests read the path from system property woq.tokenizer)");
        }
        return path;
    }

    /** Writes the tiny preset to {@code out} with {@code woq synth}, failing the test if it fails. */
    static Path synthTiny(Path out, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of(
                "synth", "--preset", "tiny", "--out", out.toString(), "--tokenizer", tokenizer().toString()));
        args.addAll(List.of(extraArgs));
        Result r = run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), () -> "woq synth failed: " + r.describe());
        return out;
    }

    /**
     * A copy of the model directory {@code source} at {@code target}: every file is a symbolic link to
     * the original except {@code config.json}, which is rewritten by {@code editConfig}.
     */
    static Path withConfig(Path source, Path target, Consumer<JsonObject> editConfig) throws IOException {
        linkAllBut(source, target, "config.json");
        JsonObject config = JsonParser.parseString(
                Files.readString(source.resolve("config.json"), StandardCharsets.UTF_8)).getAsJsonObject();
        editConfig.accept(config);
        Files.writeString(target.resolve("config.json"), config.toString(), StandardCharsets.UTF_8);
        return target;
    }

    /** Links every file of {@code source} into a new directory {@code target}, except {@code except}. */
    static void linkAllBut(Path source, Path target, String except) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!f.getFileName().toString().equals(except)) {
                    Files.createSymbolicLink(target.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
        }
    }

    /** The ids of a JSON array of integers. */
    static int[] ids(JsonObject json, String key) {
        return json.getAsJsonArray(key).asList().stream().mapToInt(e -> e.getAsInt()).toArray();
    }

    /** Comma-separated, as {@code --prompt-ids} takes them. */
    static String csv(int... ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sb.length() == 0 ? "" : ",").append(id);
        }
        return sb.toString();
    }

    /** Remembers what had been written at each flush that added text. */
    static final class FlushRecorder extends StringWriter {
        final List<String> snapshots = new ArrayList<>();

        @Override
        public void flush() {
            String now = toString();
            if (snapshots.isEmpty() ? !now.isEmpty() : !now.equals(snapshots.get(snapshots.size() - 1))) {
                snapshots.add(now);
            }
        }
    }
}
