package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.Embedder;
import dev.woq.rag.IndexListener;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.rag.TextPdfWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * woq index, search, ask, serve --index and chat --index end to end: real PDFs, real MiniLM, the
 * tiny checkpoint with the real tokenizer.
 */
class DocumentCommandsTest {
    @TempDir
    static Path tmp;

    private static Path docs;
    private static Path index;
    private static Path model;

    static final List<String> HANDBOOK = List.of(
            "Company handbook. This handbook describes how the Northwind cooperative works.",
            "Holidays. Every employee receives twenty-seven days of paid vacation per calendar year.",
            "Travel. Hotel rooms are refunded up to one hundred and forty euros per night.",
            "Safety. The fire assembly point is the parking lot behind the bakery on Mill Street.");

    @BeforeAll
    static void indexTheHandbook() throws IOException {
        docs = Files.createDirectories(tmp.resolve("docs"));
        TextPdfWriter.write(docs.resolve("handbook.pdf"), HANDBOOK);
        Files.writeString(docs.resolve("boiler.txt"), "The boiler is serviced every May by Hansen Heating.");
        index = tmp.resolve("idx");
        Cli.Result r = Cli.run("index", "--index", index.toString(), "--threads", "2", docs.toString());
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().contains("indexed 2 new and 0 changed files (5 pages"), r.out());
        model = Cli.synthTiny(tmp.resolve("tiny"));
    }

    @Test
    void aSecondIndexRunSkipsWhatIsUnchangedAndABadFileGivesExitCode3() throws IOException {
        Cli.Result again = Cli.run("index", "--index", index.toString(), docs.toString());
        assertEquals(0, again.exitCode(), again::describe);
        assertTrue(again.out().contains("indexed 0 new and 0 changed files (0 pages, 0 passages)")
                && again.out().contains("2 unchanged, 0 skipped"), again.out());

        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("fake.pdf"), "not a pdf at all");
        Files.writeString(other.resolve("fine.md"), "The cellar key hangs by the door.");
        Path idx2 = tmp.resolve("idx2");
        Cli.Result bad = Cli.run("index", "--index", idx2.toString(), other.toString(), tmp.resolve("nope").toString());
        assertEquals(IndexCommand.EXIT_SKIPPED, bad.exitCode(), bad::describe);
        assertTrue(bad.err().contains("skipped ") && bad.err().contains("fake.pdf: not a PDF"), bad.err());
        assertTrue(bad.err().contains("nope: no such file or directory"), bad.err());
        assertTrue(bad.out().contains("indexed 1 new"), bad.out());
    }

    @Test
    void searchJsonRanksTheAnsweringPageFirstInEveryMode() {
        for (String mode : List.of("hybrid", "vector", "bm25")) {
            JsonObject json = Cli.run("search", "--index", index.toString(), "--mode", mode, "--json",
                    "How many vacation days does an employee get?").json();
            JsonObject first = json.getAsJsonArray("results").get(0).getAsJsonObject();
            assertEquals(2, first.get("page").getAsInt(), mode + ": " + json);
            assertTrue(first.get("file").getAsString().endsWith("handbook.pdf"));
            assertTrue(first.get("text").getAsString().contains("twenty-seven days"));
            assertEquals(mode, json.get("mode").getAsString());
        }
        Cli.Result text = Cli.run("search", "--index", index.toString(), "--top-k", "2", "boiler service");
        assertEquals(0, text.exitCode(), text::describe);
        assertTrue(text.out().startsWith("1. ") && text.out().contains("boiler.txt, no pages"), text.out());
    }

    @Test
    void searchOrAskWithoutAnIndexSaysHowToBuildOne() {
        Cli.Result r = Cli.run("search", "--index", tmp.resolve("none").toString(), "anything");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("woq: No index at ") && r.err().contains("woq index --index"), r.err());
        Cli.Result a = Cli.run("ask", "--index", tmp.resolve("none").toString(), "--model", model.toString(), "q?");
        assertEquals(1, a.exitCode());
        assertTrue(a.err().contains("No index at "), a.err());
    }

    @Test
    void askJsonNumbersTheRetrievedPassagesWithTheirPagesAndTimings() {
        JsonObject json = Cli.run("ask", "--index", index.toString(), "--model", model.toString(), "--threads", "2",
                "--top-k", "3", "--max-new-tokens", "8", "--json", "Where is the fire assembly point?").json();
        JsonArray sources = json.getAsJsonArray("sources");
        assertEquals(3, sources.size());
        JsonObject first = sources.get(0).getAsJsonObject();
        assertEquals(1, first.get("n").getAsInt());
        assertEquals(4, first.get("page").getAsInt());
        assertTrue(first.get("text").getAsString().contains("bakery on Mill Street"));
        JsonObject search = Cli.run("search", "--index", index.toString(), "--top-k", "3", "--json",
                "Where is the fire assembly point?").json();
        for (int i = 0; i < 3; i++) {
            JsonObject hit = search.getAsJsonArray("results").get(i).getAsJsonObject();
            assertEquals(hit.get("page"), sources.get(i).getAsJsonObject().get("page"), "source " + (i + 1));
            assertEquals(i + 1, sources.get(i).getAsJsonObject().get("n").getAsInt());
        }
        JsonObject t = json.getAsJsonObject("timings");
        assertTrue(t.get("prompt_tokens").getAsInt() > 100, t.toString());
        assertTrue(t.get("ttft_ms").getAsDouble() > 0 && t.get("retrieve_ms").getAsDouble() > 0, t.toString());
        assertTrue(json.has("answer") && json.getAsJsonArray("dropped").isEmpty(), json.toString());
    }

    @Test
    void passagesThatDoNotFitTheContextAreDroppedLowestRankFirstAndSaid() throws IOException {
        // The tiny model with a 200-token context: with 32 kept for the answer, not all passages fit.
        Path small = Cli.withConfig(model, tmp.resolve("tiny-200"), c -> c.addProperty("max_position_embeddings", 200));
        Cli.Result r = Cli.run("ask", "--index", index.toString(), "--model", small.toString(), "--threads", "2",
                "--top-k", "4", "--max-new-tokens", "32", "--json", "How are hotel rooms refunded?");
        JsonObject json = r.json();
        int kept = json.getAsJsonArray("sources").size();
        JsonArray dropped = json.getAsJsonArray("dropped");
        assertTrue(kept >= 1 && dropped.size() >= 1 && kept + dropped.size() == 4, json.toString());
        assertEquals(kept + 1, dropped.get(0).getAsJsonObject().get("rank").getAsInt(), "lowest ranks go first");
        assertTrue(json.getAsJsonObject("timings").get("prompt_tokens").getAsInt() <= 200 - 32);
        assertTrue(r.err().contains("did not fit in the context of 200 tokens"), r.err());
    }

    @Test
    void askStreamsTheAnswerThenListsTheSourcesWithPages() {
        Cli.Result r = Cli.run("ask", "--index", index.toString(), "--model", model.toString(), "--threads", "2",
                "--top-k", "2", "--max-new-tokens", "6", "--stream", "How many vacation days?");
        assertEquals(0, r.exitCode(), r::describe);
        String sources = r.out().substring(r.out().indexOf("Sources:"));
        assertTrue(sources.lines().skip(1).findFirst().orElseThrow().matches("  \\[1] .*handbook\\.pdf, page 2 \\(score .*\\)"),
                r.out());
        assertEquals(3, sources.lines().count(), r.out());
        assertTrue(r.err().contains("prompt ") && r.err().contains("first token after"), r.err());
    }

    @Test
    void serveWithAnIndexAnswersSearchWithWhatSearchJsonPrints() throws Exception {
        String question = "How many vacation days does an employee get?";
        try (ServeProcess serve = ServeProcess.start(model, tmp.resolve("home"), "--port", "0",
                "--index", index.toString())) {
            assertTrue(serve.awaitLine("POST /v1/search is on").contains("5 passages"), serve.lines.toString());
            int port = serve.port();
            for (String mode : List.of("hybrid", "vector", "bm25")) {
                JsonObject body = new JsonObject();
                body.addProperty("query", question);
                body.addProperty("top_k", 3);
                body.addProperty("mode", mode);
                JsonObject served = searchOver(port, body);
                JsonObject printed = withoutTiming(Cli.run("search", "--index", index.toString(), "--threads", "2",
                        "--top-k", "3", "--mode", mode, "--json", question).json());
                assertEquals(2, served.getAsJsonArray("results").get(0).getAsJsonObject().get("page").getAsInt(),
                        served.toString());
                assertEquals(printed, served, mode);
            }
            // Without top_k and mode: the command's defaults, 4 passages and hybrid.
            JsonObject body = new JsonObject();
            body.addProperty("query", question);
            assertEquals(withoutTiming(Cli.run("search", "--index", index.toString(), "--threads", "2", "--json",
                    question).json()), searchOver(port, body));
        }
    }

    /** POST /v1/search; retrieve_ms (a timing, different in every run) is checked and left out. */
    private static JsonObject searchOver(int port, JsonObject body) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/search"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return withoutTiming(JsonParser.parseString(r.body()).getAsJsonObject());
    }

    private static JsonObject withoutTiming(JsonObject search) {
        assertTrue(search.remove("retrieve_ms").getAsDouble() > 0, search.toString());
        return search;
    }

    @Test
    void serveRefusesAtStartAnIndexMadeWithAnotherEmbeddingModel() {
        Path other = tmp.resolve("idx-mpnet");
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(2);
                DocumentIndex idx = DocumentIndex.openForUpdate(other, new Renamed(minilm), null)) {
            idx.add(List.of(docs.resolve("boiler.txt")), IndexListener.NONE);
        }
        Cli.Result r = Cli.run("serve", "--model", model.toString(), "--port", "0", "--threads", "2",
                "--index", other.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().startsWith("woq: The index at " + other + " holds vectors of embedding model '"
                + Renamed.ID + "'"), r.err());
        assertFalse(r.err().contains("listening on"), "refused before listening: " + r.err());
    }

    /** The index records this embedder as another model (its vectors are MiniLM's: only the name differs). */
    private record Renamed(MiniLmEmbedder minilm) implements Embedder {
        static final String ID = "sentence-transformers/all-mpnet-base-v2";

        @Override
        public String modelId() {
            return ID;
        }

        @Override
        public int dimensions() {
            return minilm.dimensions();
        }

        @Override
        public int maxTokens() {
            return minilm.maxTokens();
        }

        @Override
        public int countTokens(String text) {
            return minilm.countTokens(text);
        }

        @Override
        public float[][] embed(List<String> texts) {
            return minilm.embed(texts);
        }

        @Override
        public void close() {
            // minilm is closed by its owner
        }
    }

    @Test
    void chatWithAnIndexStreamsTheAnswerAskGivesAndSourcesListsItsPassages() {
        String question = "How many vacation days does an employee get?";
        Cli.FlushRecorder stdout = new Cli.FlushRecorder();
        Cli.Result chat = Cli.runWithInput(question + "\n/sources\n", stdout, "chat", "--model", model.toString(),
                "--threads", "2", "--index", index.toString(), "--passages", "2", "--temperature", "0",
                "--max-new-tokens", "8", "--stream");
        assertEquals(0, chat.exitCode(), chat::describe);
        Cli.Result ask = Cli.run("ask", "--index", index.toString(), "--model", model.toString(), "--threads", "2",
                "--top-k", "2", "--max-new-tokens", "8", "--stream", question);
        assertEquals(0, ask.exitCode(), ask::describe);
        String nl = System.lineSeparator();
        int cut = ask.out().indexOf(nl + "Sources:" + nl);
        String answer = ask.out().substring(0, cut); // the streamed text and its newline
        String sources = ask.out().substring(cut + (nl + "Sources:" + nl).length());
        assertTrue(sources.startsWith("  [1] ") && sources.lines().findFirst().orElseThrow()
                .matches("  \\[1] .*handbook\\.pdf, page 2 \\(score .*\\)"), ask.out());
        assertEquals(2, sources.lines().count(), ask.out());
        // The same greedy answer to the same cited prompt, then /sources: the same list as woq ask's.
        assertEquals(answer + sources, chat.out(), chat.describe());
        String text = answer.strip();
        assertTrue(!text.isEmpty(), "an answer was generated");
        long partial = stdout.snapshots.stream().filter(s -> s.length() < answer.length() - nl.length()).count();
        assertTrue(partial >= 2, () -> "stdout flushed only at " + stdout.snapshots);
        assertTrue(chat.err().contains("index " + index + ": 5 passages, 2 per question (hybrid)"), chat.err());
    }

    @Test
    void chatWithAnIndexListsSourcesInItsHelp() {
        Cli.Result chat = Cli.runWithInput("/sources\n/help\n", "chat", "--model", model.toString(), "--threads", "2",
                "--index", index.toString());
        assertEquals(0, chat.exitCode(), chat::describe);
        assertTrue(chat.out().startsWith("no answer yet: ask a question first" + System.lineSeparator()), chat.out());
        assertTrue(chat.out().contains("/sources       the passages of the last answer: n, file, page, score"),
                chat.out());
        Cli.Result help = Cli.run("chat", "--help");
        assertTrue(help.out().contains("--index") && help.out().contains("/sources"), help.out());
    }
}
