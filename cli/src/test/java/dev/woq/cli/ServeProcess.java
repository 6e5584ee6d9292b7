package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code woq serve} in a JVM of its own, as a user starts it; stopped with SIGTERM on close. */
final class ServeProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/v1");

    final Process process;
    final BufferedReader output;
    /** Every line read so far (stdout and stderr together). */
    final List<String> lines = new ArrayList<>();
    private int port = -1;

    private ServeProcess(Process process) {
        this.process = process;
        this.output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts {@code woq serve --model MODEL --threads 2 --woq-home HOME ARGS...}. */
    static ServeProcess start(Path model, Path home, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--model", model.toString(), "--threads", "2", "--woq-home", home.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("WOQ_API_KEY");
        return new ServeProcess(pb.start());
    }

    /** Reads the log up to the line containing {@code text}, failing if the process ends first. */
    String awaitLine(String text) throws IOException {
        for (String line; (line = output.readLine()) != null; ) {
            lines.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                port = Integer.parseInt(m.group(1));
            }
            if (line.contains(text)) {
                return line;
            }
        }
        throw new AssertionError("woq serve ended before printing '" + text + "': " + lines);
    }

    /** The port it listens on, once its "listening on" line was read. */
    int port() throws IOException {
        if (port < 0) {
            awaitLine("listening on");
        }
        assertTrue(port > 0, "no 'listening on' line: " + lines);
        return port;
    }

    /** SIGTERM, and wait for it to stop. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("woq serve did not stop on SIGTERM");
        }
    }
}
