package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.StopReason;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.StreamingDecoder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link StreamingChat} on a tiny random-weight checkpoint with the real Llama 3 tokenizer. */
class StreamingChatTest {
    @TempDir
    Path tmp;

    @Test
    void streamsTheReplyAndStops() {
        Path tokenizerJson = ExampleCheckpoints.realTokenizer();
        Path model = ExampleCheckpoints.tiny(tmp.resolve("tiny"));
        FlushCounter bytes = new FlushCounter();
        PrintStream out = new PrintStream(bytes, false, StandardCharsets.UTF_8);

        GenerationResult result = StreamingChat.chat(model, "Hello", 12, out);

        String printed = bytes.toString(StandardCharsets.UTF_8);
        int[] generated = result.generatedIds();
        assertTrue(generated.length >= 1 && generated.length <= 12, () -> generated.length + " tokens");
        assertTrue(result.stopReason() == StopReason.MAX_NEW_TOKENS || result.stopReason() == StopReason.STOP_TOKEN,
                () -> "stopped because " + result.stopReason());
        try (Llama3Tokenizer tokenizer = Llama3Tokenizer.load(tokenizerJson)) {
            int[] prompt = new Llama3ChatTemplate(tokenizer).encodeDialogPrompt(List.of(
                    new Message(Role.SYSTEM, StreamingChat.SYSTEM_MESSAGE), new Message(Role.USER, "Hello")));
            assertArrayEquals(prompt, result.promptIds(), "the chat prompt of the system and user messages");
            StreamingDecoder decoder = new StreamingDecoder(tokenizer);
            StringBuilder expected = new StringBuilder();
            for (int id : generated) {
                expected.append(decoder.push(id));
            }
            expected.append(decoder.flush()).append(System.lineSeparator());
            assertFalse(printed.isBlank(), "printed some text");
            assertEquals(expected.toString(), printed);
            assertTrue(bytes.flushesWithNewText >= 2, "streamed: flushed as the text grew, not once at the end");
        }
    }

    /** Counts the flushes that came after new bytes. */
    private static final class FlushCounter extends ByteArrayOutputStream {
        int flushesWithNewText;
        private int flushedSize;

        @Override
        public void flush() {
            if (size() > flushedSize) {
                flushesWithNewText++;
                flushedSize = size();
            }
        }
    }
}
