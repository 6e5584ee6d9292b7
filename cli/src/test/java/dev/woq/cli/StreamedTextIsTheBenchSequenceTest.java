package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.bench.ModelBenchmark;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Tokenizer;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code woq generate --stream} and {@code woq chat --stream} print at temperature 0 is the
 * bench's greedy token sequence ({@link ModelBenchmark#greedyIds}) decoded, up to the first end
 * token: the speed work on those paths changes nothing the user reads.
 */
class StreamedTextIsTheBenchSequenceTest {
    private static final int NEW_TOKENS = 24;

    @TempDir
    static Path tmp;

    private static Path model;
    private static LocalModel local;

    @BeforeAll
    static void load() {
        model = Cli.synthTiny(tmp.resolve("tiny"));
        local = LocalModel.load(model, LocalModel.tokenizerFile(model, null), 2);
    }

    @AfterAll
    static void close() {
        local.close();
    }

    /** The bench's ids after {@code prompt}, cut after the first of {@code stops}. */
    private static int[] benchIds(int[] prompt, Set<Integer> stops) {
        int[] ids = ModelBenchmark.greedyIds(local.model(), prompt, NEW_TOKENS);
        for (int i = 0; i < ids.length; i++) {
            if (stops.contains(ids[i])) {
                return Arrays.copyOf(ids, i + 1);
            }
        }
        return ids;
    }

    /** The text of {@code ids} with special tokens (the end token) left out, decoded at once. */
    private static String text(int[] ids) {
        Tokenizer tokenizer = local.tokenizer();
        return tokenizer.decode(Arrays.stream(ids).filter(id -> !tokenizer.isSpecial(id)).toArray());
    }

    @Test
    void generateStreamsTheBenchSequence() {
        int[] prompt = ModelBenchmark.prompt(12, local.model().config().bosTokenId());
        int[] expected = benchIds(prompt, new HashSet<>(local.model().config().eosTokenIds()));
        assertTrue(expected.length > 4, "the bench generated too little to compare: " + Arrays.toString(expected));

        String[] args = {"generate", "--model", model.toString(), "--threads", "2", "--prompt-ids", Cli.csv(prompt),
            "--temperature", "0", "--max-new-tokens", String.valueOf(NEW_TOKENS), "--stream"};
        Cli.Result streamed = Cli.run(args);
        assertEquals(0, streamed.exitCode(), streamed::describe);
        assertEquals(text(expected) + System.lineSeparator(), streamed.out());

        String[] withJson = Arrays.copyOf(args, args.length + 1);
        withJson[args.length] = "--json";
        assertArrayEquals(expected, Cli.ids(Cli.run(withJson).json(), "generated_ids"));
    }

    @Test
    void chatStreamsTheBenchSequenceOfItsPrompt() {
        String message = "What is the capital of France?";
        Llama3ChatTemplate template = new Llama3ChatTemplate(local.tokenizer());
        int[] prompt = template.encodeDialogPrompt(List.of(new Message(Role.USER, message)));
        Set<Integer> stops = new HashSet<>(local.model().config().eosTokenIds());
        stops.addAll(template.stopTokenIds());
        int[] expected = benchIds(prompt, stops);
        assertTrue(expected.length > 4, "the bench generated too little to compare: " + Arrays.toString(expected));

        InputStream stdin = System.in;
        System.setIn(new ByteArrayInputStream((message + "\n").getBytes(StandardCharsets.UTF_8)));
        Cli.Result chat;
        try {
            chat = Cli.run("chat", "--model", model.toString(), "--threads", "2", "--temperature", "0",
                    "--max-new-tokens", String.valueOf(NEW_TOKENS), "--stream");
        } finally {
            System.setIn(stdin);
        }
        assertEquals(0, chat.exitCode(), chat::describe);
        assertEquals(text(expected) + System.lineSeparator(), chat.out());
        assertTrue(chat.err().contains("woq: ready (warmed up in"), chat.err());
    }
}
