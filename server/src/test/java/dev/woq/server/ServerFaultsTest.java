package dev.woq.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server under hostile or careless clients, over raw sockets: a chunked body past
 * {@code --max-body}, garbage instead of HTTP, a client that hangs up on a reply it asked for
 * whole, and 200 connections opened and dropped. Each time the server answers the next request,
 * generates nothing it need not, and keeps its threads and file descriptors bounded.
 */
class ServerFaultsTest {
    private static final long MAX_BODY = 64 * 1024;
    private static final ServerOptions OPTIONS = TestServers.options(null, 2, 4, MAX_BODY);
    private static final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private static WoqServer server;
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(OPTIONS,
                new PrintStream(logBytes, true, StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aChunkedBodyOverMaxBodyIs413AndGeneratesNothing() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        String json = "{\"model\":\"tiny\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\""
                + "x".repeat((int) MAX_BODY + 1000) + "\"}]}";
        String response;
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            for (int at = 0; at < body.length; at += 4096) { // no Content-Length: only the chunks tell the size
                int n = Math.min(4096, body.length - at);
                out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body, at, n);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            response = readResponse(s.getInputStream());
        } catch (IOException closedWhileSending) {
            fail("the server should answer 413, not drop the connection: " + closedWhileSending);
            return;
        }
        assertTrue(response.startsWith("HTTP/1.1 413"), response);
        assertTrue(response.contains("\"code\":\"request_too_large\"") || response.contains(String.valueOf(MAX_BODY)),
                response);
        assertTrue(log().lines().anyMatch(l -> l.contains("POST /v1/chat/completions 413") && l.contains("out=0")),
                log());
        // A request of an earlier test may still be leaving the batch (it answers before it is removed).
        await(() -> health().get("active").getAsInt() == 0, "nothing generating");
    }

    @Test
    void rawGarbageOnTheSocketLeavesTheServerAnswering() throws Exception {
        SplittableRandom r = new SplittableRandom(13);
        List<byte[]> garbage = new ArrayList<>();
        byte[] binary = new byte[4096];
        r.nextBytes(binary);
        garbage.add(binary);
        garbage.add("GARBAGE / NONSENSE/9.9\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        garbage.add("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        garbage.add(("GET /health HTTP/1.1\r\n" + "X: " + "y".repeat(64 * 1024) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        for (byte[] g : garbage) {
            try (Socket s = connect()) {
                s.getOutputStream().write(g);
                s.getOutputStream().flush();
                String answer = readResponse(s.getInputStream());
                // Jetty answers 400, 431 or 505, or closes
                assertTrue(answer.isEmpty() || answer.matches("(?s)HTTP/1\\.1 [45]\\d\\d .*"), answer);
            } catch (IOException resetByServer) {
                // closing on garbage is an answer too
            }
            assertEquals("ok", health().get("status").getAsString());
        }
        assertEquals(200, chat("{\"model\":\"tiny\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .statusCode());
    }

    @Test
    void aNonStreamedClientThatHangsUpHasItsGenerationStopped() throws Exception {
        int maxTokens = 6000; // far more than the tiny model makes before the client leaves
        String json = "{\"model\":\"tiny\",\"max_tokens\":" + maxTokens + ",\"temperature\":1.0,\"seed\":3,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me everything.\"}]}";
        try (Socket s = connect()) {
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            await(() -> health().get("active").getAsInt() == 1, "the request to start generating");
        } // the client hangs up
        await(() -> health().get("active").getAsInt() == 0, "the batcher to drop the request");
        // The request's thread writes its log line once it hears the batcher is done with it.
        await(() -> log().contains("POST /v1/chat/completions 499"), "the request's log line");
        String line = log().lines().filter(l -> l.contains("POST /v1/chat/completions 499")).findFirst()
                .orElseThrow(() -> new AssertionError("no 499 line in the log: " + log()));
        assertTrue(line.contains("finish=client-gone"), line);
        int out = Integer.parseInt(line.replaceAll(".* out=(\\d+) .*", "$1"));
        assertTrue(out < maxTokens, line);
    }

    @Test
    void twoHundredConnectionsOpenedAndDroppedLeaveThreadsAndDescriptorsBounded() throws Exception {
        assertEquals("ok", health().get("status").getAsString()); // warm: the client's own connection exists
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        long fdsBefore = openDescriptors();
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            Socket s = connect();
            if (i % 3 == 1) { // a third send half a request, a third a whole header block and no body
                s.getOutputStream().write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le"
                        .getBytes(StandardCharsets.US_ASCII));
            } else if (i % 3 == 2) {
                s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{")
                        .getBytes(StandardCharsets.US_ASCII));
            }
            sockets.add(s);
        }
        assertEquals("ok", health().get("status").getAsString(), "answers while 200 connections hang");
        int threadsDuring = ManagementFactory.getThreadMXBean().getThreadCount();
        for (Socket s : sockets) {
            s.setSoLinger(true, 0); // dropped: a reset, as a crashed client leaves it
            s.close();
        }
        await(() -> openDescriptors() <= fdsBefore + 16, "the server to close the dropped connections' descriptors"
                + " (before: " + fdsBefore + ")");
        int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
        System.out.printf("threads %d before, %d with 200 connections, %d after; descriptors %d before, %d after%n",
                threadsBefore, threadsDuring, threadsAfter, fdsBefore, openDescriptors());
        // Jetty dispatches a thread to each connection with something to handle (a header block,
        // a reset) and retires idle ones slowly; the server's pool caps how many there can be.
        int bound = threadsBefore + WoqServer.maxThreads(OPTIONS);
        assertTrue(threadsDuring <= bound && threadsAfter <= bound,
                "threads " + threadsBefore + " -> " + threadsDuring + " -> " + threadsAfter + ", bound " + bound);
        assertEquals(200, chat("{\"model\":\"tiny\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .statusCode());
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 10_000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** The status line and headers, and a body up to 64 KiB, or "" when the server just closes. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; got.size() < 65536 && (n = in.read(buf)) > 0; ) {
            got.write(buf, 0, n);
            String text = got.toString(StandardCharsets.ISO_8859_1);
            int headEnd = text.indexOf("\r\n\r\n");
            if (headEnd >= 0) {
                String length = text.replaceAll("(?is).*\r\ncontent-length: *(\\d+)\r\n.*", "$1");
                if (!length.equals(text) && got.size() >= headEnd + 4 + Integer.parseInt(length.trim())) {
                    break;
                }
            }
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    private static JsonObject health() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                    + "/health")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            return JsonParser.parseString(r.body()).getAsJsonObject();
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("GET /health failed: " + e, e);
        }
    }

    private static HttpResponse<String> chat(String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long openDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Waits (up to a minute, polling) for {@code condition}; fails naming what it waited for. */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("gave up waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }
}
