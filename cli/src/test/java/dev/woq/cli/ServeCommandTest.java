package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq serve} as a process: it listens, loads, answers, logs, and stops on SIGTERM. */
class ServeCommandTest {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/v1");

    @TempDir
    Path tmp;

    private Process serve(Path model, String... extra) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--model", model.toString(), "--threads", "2", "--woq-home", tmp.resolve("home").toString()));
        command.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("WOQ_API_KEY");
        return pb.start();
    }

    @Test
    void servesTheModelOnAFreePortLogsEachRequestAndStopsOnSigterm() throws Exception {
        Path model = Cli.synthTiny(tmp.resolve("tiny"));
        Process p = serve(model, "--port", "0", "--api-key", "k-123");
        List<String> lines = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            for (String line; port < 0 && (line = out.readLine()) != null; ) {
                lines.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertTrue(port > 0, "no 'listening on' line: " + lines);
            for (String line; (line = out.readLine()) != null; ) {
                lines.add(line);
                if (line.contains("ready in")) {
                    break;
                }
            }
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("Authorization", "Bearer k-123")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"completion_tokens\":3"), r.body());
            String logLine = out.readLine();
            assertTrue(logLine.contains("POST /v1/chat/completions 200 in=") && logLine.contains("out=3"), logLine);
            assertTrue(lines.stream().noneMatch(l -> l.contains("k-123")), "the key is never printed: " + lines);
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "woq serve did not stop on SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aPortInUseIsRefusedWithThePortAndAHint() throws Exception {
        Path model = Cli.synthTiny(tmp.resolve("tiny"));
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Process p = serve(model, "--port", Integer.toString(taken.getLocalPort()));
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("woq serve kept running on a port in use");
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(1, p.exitValue(), output);
            assertTrue(output.contains(":" + taken.getLocalPort()) && output.contains("--port"), output);
        }
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingLoads() {
        Cli.Result r = Cli.run("serve", "--model", tmp.resolve("missing").toString(), "--max-concurrent", "0");
        assertEquals(1, r.exitCode(), r.describe());
        assertTrue(r.err().contains("--max-concurrent must be at least 1"), r.describe());
        r = Cli.run("serve", "--model", tmp.resolve("missing").toString(), "--port", "70000");
        assertEquals(1, r.exitCode(), r.describe());
        assertTrue(r.err().contains("--port must be 0..65535"), r.describe());
    }
}
