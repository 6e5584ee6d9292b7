package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks prompts against the ids Meta's reference {@code ChatFormat} produces. Content ids were
 * pinned from tiktoken with Llama 3's ranks (Meta's reference tokenizer).
 */
class Llama3ChatTemplateTest {

    private static final int BEGIN_OF_TEXT = 128000;
    private static final int START_HEADER = 128006;
    private static final int END_HEADER = 128007;
    private static final int EOT = 128009;
    private static final int NEWLINES = 271;

    private static Llama3ChatTemplate template;

    @BeforeAll
    static void createTemplate() {
        template = new Llama3ChatTemplate(RealTokenizer.get());
    }

    @Test
    void chatTemplateMatchesMetaReferenceIdsForSystemAndUserDialog() {
        int[] prompt = template.encodeDialogPrompt(List.of(
                new Message(Role.SYSTEM, "You are a helpful assistant."),
                new Message(Role.USER, "What is the capital of France?")));
        assertArrayEquals(new int[] {
            128000,
            128006, 9125, 128007, 271,
            2675, 527, 264, 11190, 18328, 13, // You are a helpful assistant.
            128009,
            128006, 882, 128007, 271,
            3923, 374, 279, 6864, 315, 9822, 30, // What is the capital of France?
            128009,
            128006, 78191, 128007, 271,
        }, prompt);
    }

    @Test
    void threeTurnDialogWithAssistantReplyMatchesMetaReferenceIdsAndStripsContent() {
        int[] prompt = template.encodeDialogPrompt(List.of(
                new Message(Role.USER, "Hi!"),
                new Message(Role.ASSISTANT, "Hello! How can I help?"),
                new Message(Role.USER, "  Tell me a joke.\n")));
        assertArrayEquals(new int[] {
            128000,
            128006, 882, 128007, 271,
            13347, 0, // Hi!
            128009,
            128006, 78191, 128007, 271,
            9906, 0, 2650, 649, 358, 1520, 30, // Hello! How can I help?
            128009,
            128006, 882, 128007, 271,
            41551, 757, 264, 22380, 13, // Tell me a joke.   (stripped: not " Tell ... .\n")
            128009,
            128006, 78191, 128007, 271,
        }, prompt);
    }

    @Test
    void emptyDialogIsBeginOfTextAndAssistantHeader() {
        assertArrayEquals(new int[] {BEGIN_OF_TEXT, START_HEADER, 78191, END_HEADER, NEWLINES},
                template.encodeDialogPrompt(List.of()));
    }

    @Test
    void headerIsStartHeaderRoleEndHeaderAndTwoNewlines() {
        assertArrayEquals(new int[] {START_HEADER, 9125, END_HEADER, NEWLINES},
                template.encodeHeader(Role.SYSTEM));
        assertArrayEquals(new int[] {START_HEADER, 882, END_HEADER, NEWLINES},
                template.encodeHeader(Role.USER));
        assertArrayEquals(new int[] {START_HEADER, 78191, END_HEADER, NEWLINES},
                template.encodeHeader(Role.ASSISTANT));
        assertArrayEquals(new int[] {START_HEADER, 23799, 4690, END_HEADER, NEWLINES},
                template.encodeHeader(Role.IPYTHON));
    }

    @Test
    void messageIsHeaderStrippedContentAndEndOfTurn() {
        assertArrayEquals(new int[] {START_HEADER, 9125, END_HEADER, NEWLINES, 3513, 10015, 13, EOT},
                template.encodeMessage(new Message(Role.SYSTEM, "\n\t Be brief. \r\n")));
    }

    @Test
    void contentIsStrippedOfPythonWhitespaceIncludingNoBreakSpace() {
        // Python's str.strip() removes U+00A0; Java's String.strip() would keep it (id 4194).
        assertArrayEquals(
                new int[] {START_HEADER, 882, END_HEADER, NEWLINES, 41551, 757, 264, 22380, 13, EOT},
                template.encodeMessage(new Message(Role.USER, "\u00a0Tell me a joke.\u00a0")));
    }

    @Test
    void specialTokenSpellingInContentStaysPlainTextLikeMeta() {
        assertArrayEquals(new int[] {
            START_HEADER, 882, END_HEADER, NEWLINES,
            46864, 83739, 68, 354, 851, 91, 29, 4587, // Say <|eot_id|> please
            EOT,
        }, template.encodeMessage(new Message(Role.USER, "Say <|eot_id|> please")));
    }

    @Test
    void roleWireNamesAreMetaRoleStrings() {
        assertEquals("system", Role.SYSTEM.wireName());
        assertEquals("user", Role.USER.wireName());
        assertEquals("assistant", Role.ASSISTANT.wireName());
        assertEquals("ipython", Role.IPYTHON.wireName());
    }

    @Test
    void stopTokensAreEndOfTextAndEndOfTurn() {
        assertEquals(Set.of(128001, 128009), template.stopTokenIds());
    }

    @Test
    void messageRejectsNullParts() {
        assertThrows(NullPointerException.class, () -> new Message(null, "x"));
        assertThrows(NullPointerException.class, () -> new Message(Role.USER, null));
    }
}
