package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code woq chat} on a real pseudo-terminal (util-linux {@code script} gives it one), as a person
 * uses it: a streamed reply, Ctrl-C during it (the byte 0x03, which the terminal turns into
 * SIGINT), {@code /stats}, then {@code /exit} with status 0. Only liveness has time limits.
 * Once on a terminal JLine drives itself and once on a dumb one, where JLine leaves SIGINT alone.
 */
class ChatOnATerminalTest {
    private static final long WAIT_MS = 120_000;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "TERM={0}")
    @ValueSource(strings = {"xterm-256color", "dumb"})
    void ctrlCStopsTheReplyInProgressAndTheChatGoesOnUntilExit(String term) throws Exception {
        Path script = Path.of("/usr/bin/script");
        assumeTrue(Files.isExecutable(script), "util-linux script(1) gives the chat a terminal");
        Path model = Cli.synthTiny(tmp.resolve("tiny"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // exec: a shell such as dash stays the terminal's foreground parent of java otherwise, so
        // Ctrl-C kills it and script(1) reports 130 whatever the chat does.
        String command = String.join(" ", List.of(
                "exec", quote(java), "-Xmx512m", "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-cp", quote(System.getProperty("java.class.path")), Main.class.getName(),
                "chat", "--model", quote(model.toString()), "--stream", "--max-new-tokens", "5000",
                "--threads", "2", "--woq-home", quote(tmp.resolve("home").toString())));
        ProcessBuilder chat = new ProcessBuilder(script.toString(), "-qefc", command, "/dev/null")
                .redirectErrorStream(true);
        chat.environment().put("TERM", term);
        chat.environment().put("SHELL", "/bin/sh");
        Process p = chat.start();
        Screen screen = new Screen(p.getInputStream());
        try (OutputStream keys = p.getOutputStream()) {
            screen.await("Type a message");
            type(keys, "Hello there\r");
            int before = screen.text().length();
            // Streamed: the reply grows on the screen while it is generated.
            screen.awaitLength(before + 80);
            type(keys, "\u0003");
            screen.await("(stopped)");
            type(keys, "/stats\r");
            screen.await("stop: cancelled");
            type(keys, "/exit\r");
            assertTrue(p.waitFor(WAIT_MS, TimeUnit.MILLISECONDS), "woq chat did not exit: " + screen.text());
            assertEquals(0, p.exitValue(), screen.text());
        } finally {
            p.destroyForcibly();
        }
    }

    private static void type(OutputStream keys, String text) throws IOException {
        keys.write(text.getBytes(StandardCharsets.UTF_8));
        keys.flush();
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** What the terminal shows, read as it comes. */
    private static final class Screen {
        private final StringBuilder text = new StringBuilder();

        Screen(InputStream in) {
            Thread reader = new Thread(() -> {
                byte[] buf = new byte[4096];
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        synchronized (text) {
                            text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                            text.notifyAll();
                        }
                    }
                } catch (IOException ended) {
                    // the process is gone
                }
            }, "screen");
            reader.setDaemon(true);
            reader.start();
        }

        String text() {
            synchronized (text) {
                return text.toString();
            }
        }

        void await(String shown) throws InterruptedException {
            awaitUntil(() -> text.indexOf(shown) >= 0, "'" + shown + "'");
        }

        void awaitLength(int length) throws InterruptedException {
            awaitUntil(() -> text.length() >= length, length + " characters");
        }

        private void awaitUntil(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
            long end = System.currentTimeMillis() + WAIT_MS;
            synchronized (text) {
                while (!done.getAsBoolean()) {
                    long left = end - System.currentTimeMillis();
                    if (left <= 0) {
                        fail("the terminal never showed " + what + ":\n" + text);
                    }
                    text.wait(left);
                }
            }
        }
    }
}
