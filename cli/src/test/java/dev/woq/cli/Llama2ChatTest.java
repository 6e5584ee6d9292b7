package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.chat.ChatReply;
import dev.woq.runtime.chat.Conversation;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.Llama2ChatFormat;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.TokenizerFamily;
import dev.woq.tokenizer.TokenizerLocations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Llama 2-shaped synthetic model (no grouped-query attention, rope theta 10,000, 32,000 tokens,
 * two narrow layers) with the real Llama 2 tokenizer, end to end through {@code woq chat},
 * {@code woq generate --chat} and {@link Conversation}.
 */
class Llama2ChatTest {
    @TempDir
    static Path tmp;

    private static Path model;

    @BeforeAll
    static void writeLlama2Checkpoint() throws Exception {
        Path tokenizer = TokenizerLocations.defaultLlama2TokenizerJson();
        if (!Files.isRegularFile(tokenizer)) {
            fail("Llama 2 tokenizer not found at " + tokenizer + ": run scripts/fetch-tokenizer.sh first");
        }
        LlamaConfig t = SyntheticPreset.TINY.config();
        LlamaConfig l2 = SyntheticPreset.LLAMA2_7B.config();
        LlamaConfig c = new LlamaConfig(t.hiddenSize(), t.numHeads(), t.numHeads(), t.headDim(), t.intermediateSize(),
                t.numLayers(), l2.rmsNormEps(), l2.ropeTheta(), null, l2.vocabSize(), l2.maxPositionEmbeddings(), false,
                l2.bosTokenId(), l2.eosTokenIds(), "bfloat16");
        model = tmp.resolve("tiny-llama2");
        SyntheticCheckpoint.write(model, c, 7, 0.1, tokenizer, SyntheticCheckpoint.DEFAULT_SHARD_BYTES,
                SyntheticCheckpoint.Progress.NONE);
    }

    private static Cli.Result chat(String input, String... args) {
        List<String> all = new ArrayList<>(List.of("chat", "--model", model.toString(), "--threads", "2"));
        all.addAll(List.of(args));
        return Cli.runWithInput(input, all.toArray(String[]::new));
    }

    @Test
    void woqChatOnALlama2ModelUsesLlama2sFormatAndAnswersEachLine() {
        Cli.Result r = chat("What is the capital of France?\nAnd of Spain?\n",
                "--system", "Be brief.", "--temperature", "0", "--max-new-tokens", "12");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.err().contains("chat format llama2, the default of the Llama 2"), r.err());
        Cli.Result once = Cli.run("generate", "--model", model.toString(), "--threads", "2", "--chat",
                "--system", "Be brief.", "--prompt", "What is the capital of France?",
                "--temperature", "0", "--max-new-tokens", "12");
        assertEquals(0, once.exitCode(), once::describe);
        assertTrue(once.err().contains("chat format llama2"), once.err());
        assertTrue(r.out().startsWith(once.out()), r.describe() + "\n--- generate ---\n" + once.out());
        assertTrue(r.out().length() > once.out().length() + 1, "the second message was answered too");
    }

    @Test
    void conversationPromptsAreLlama2sRenderingOfTheWholeDialog() {
        try (LocalModel local = LocalModel.load(model, null, 2)) {
            assertEquals(TokenizerFamily.LLAMA2, local.tokenizer().family());
            Llama2ChatFormat format = assertInstanceOf(Llama2ChatFormat.class, local.chatFormat());
            assertEquals(Set.of(2), format.stopTokenIds());
            try (Conversation conversation = new Conversation(local.model(), format, 512)) {
                conversation.setSystemPrompt("Be brief.");
                GenerationConfig greedy = GenerationConfig.greedy(8, Set.of());
                ChatReply first = conversation.reply("Hello!", greedy, s -> {}, () -> false);
                ChatReply second = conversation.reply("And then?", greedy, s -> {}, () -> false);
                assertFalse(first.text().contains("\uFFFD"));
                // The second prompt is the whole dialog as Llama 2's format renders it; its first turn
                // (system block and first exchange) came from the cache.
                List<Message> dialog = List.of(new Message(Role.SYSTEM, "Be brief."),
                        new Message(Role.USER, "Hello!"), new Message(Role.ASSISTANT, first.text()),
                        new Message(Role.USER, "And then?"));
                int[] expected = format.encodeDialogPrompt(dialog);
                assertEquals(1, expected[0]);
                assertTrue(second.reusedTokens() > 10, "reused " + second.reusedTokens());
                assertArrayEquals(java.util.Arrays.copyOfRange(expected, second.reusedTokens(), expected.length),
                        second.generation().promptIds());
                assertEquals(dialog, conversation.messages().subList(0, 4));
            }
        }
    }
}
