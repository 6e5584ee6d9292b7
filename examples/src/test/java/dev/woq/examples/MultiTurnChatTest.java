package dev.woq.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.chat.ChatReply;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MultiTurnChat}: three turns, the later ones built on the cached earlier ones. */
class MultiTurnChatTest {
    @TempDir
    Path tmp;

    @Test
    void laterTurnsReuseTheCachedHistoryAndEveryReplyIsPrinted() {
        Path model = ExampleCheckpoints.tiny(tmp.resolve("tiny"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<ChatReply> replies = MultiTurnChat.run(model, MultiTurnChat.DEFAULT_MESSAGES,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        String out = bytes.toString(StandardCharsets.UTF_8);

        assertEquals(3, replies.size());
        assertEquals(0, replies.get(0).reusedTokens());
        for (int i = 1; i < 3; i++) {
            ChatReply r = replies.get(i);
            assertTrue(r.reusedTokens() >= replies.get(i - 1).contextUsed() - 2,
                    "turn " + i + " reused " + r.reusedTokens() + " of " + replies.get(i - 1).contextUsed());
            assertTrue(r.prefilledTokens() < 30, "turn " + i + " computed " + r.prefilledTokens());
        }
        int at = 0;
        for (int i = 0; i < 3; i++) {
            String asked = "> " + MultiTurnChat.DEFAULT_MESSAGES.get(i);
            at = out.indexOf(asked, at);
            assertTrue(at >= 0, "printed in order: " + asked);
            assertTrue(out.indexOf(replies.get(i).text(), at) > at, "reply " + i + " printed after its question");
        }
    }
}
