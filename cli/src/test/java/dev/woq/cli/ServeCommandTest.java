package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code woq serve} as a process: it listens, loads, answers, logs, and stops on SIGTERM. */
class ServeCommandTest {
    @TempDir
    Path tmp;

    @Test
    void servesTheModelOnAFreePortLogsEachRequestAndStopsOnSigterm() throws Exception {
        Path model = Cli.synthTiny(tmp.resolve("tiny"));
        try (ServeProcess serve = ServeProcess.start(model, tmp.resolve("home"), "--port", "0", "--api-key", "k-123")) {
            int port = serve.port();
            serve.awaitLine("ready in");
            BufferedReader out = serve.output;
            List<String> lines = serve.lines;
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
        } // SIGTERM, and it must stop
    }

    @Test
    void aPortInUseIsRefusedWithThePortAndAHint() throws Exception {
        Path model = Cli.synthTiny(tmp.resolve("tiny"));
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Process p = ServeProcess.start(model, tmp.resolve("home"), "--port", Integer.toString(taken.getLocalPort())).process;
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
