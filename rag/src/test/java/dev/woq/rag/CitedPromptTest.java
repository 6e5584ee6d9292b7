package dev.woq.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.woq.runtime.WoqException;
import dev.woq.tokenizer.Llama3ChatTemplate;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.TokenizerLocations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ask prompt in Llama 3's chat format, with the real tokenizer: numbered passages with pages, fitted to the context. */
class CitedPromptTest {
    private static Llama3Tokenizer tokenizer;
    private static Llama3ChatTemplate template;

    @BeforeAll
    static void loadTokenizer() {
        Path path = TokenizerLocations.defaultTokenizerJson();
        if (!Files.isRegularFile(path)) {
            fail("Llama 3 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh first");
        }
        tokenizer = Llama3Tokenizer.load(path);
        template = new Llama3ChatTemplate(tokenizer);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static List<Hit> hits() {
        Path pdf = Path.of("/docs/handbook.pdf");
        return List.of(
                new Hit(1, 0.9, pdf, 2, 0, 80, "Every employee receives twenty-seven days of paid vacation per year."),
                new Hit(2, 0.7, Path.of("/docs/notes.txt"), 0, 0, 40, "Unused days expire at the end of March."),
                new Hit(3, 0.5, pdf, 5, 10, 90, "The fire assembly point is the parking lot behind the bakery."));
    }

    @Test
    void thePromptNumbersThePassagesWithFileAndPageAndAsksForCitations() {
        CitedPrompt prompt = CitedPrompt.fit(template, "How many vacation days do I get?", hits(), 8192, 256);
        String text = tokenizer.decode(prompt.ids());
        assertTrue(text.startsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"), text);
        assertTrue(text.contains("cite the passages it comes from as [n]"), text);
        assertTrue(text.contains("[1] handbook.pdf, page 2:\nEvery employee receives twenty-seven days"), text);
        assertTrue(text.contains("[2] notes.txt:\nUnused days expire"), text);
        assertTrue(text.contains("[3] handbook.pdf, page 5:\nThe fire assembly point"), text);
        assertTrue(text.endsWith("Question: How many vacation days do I get?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"), text);
        assertEquals(List.of(1, 2, 3), prompt.sources().stream().map(Source::n).toList());
        assertTrue(prompt.dropped().isEmpty());
    }

    @Test
    void passagesThatDoNotFitAreDroppedLowestRankFirst() {
        int all = CitedPrompt.fit(template, "Vacation?", hits(), 8192, 0).ids().length;
        int two = CitedPrompt.fit(template, "Vacation?", hits().subList(0, 2), 8192, 0).ids().length;
        // Room for the first two passages and the answer, not for the third.
        CitedPrompt prompt = CitedPrompt.fit(template, "Vacation?", hits(), two + 100, 100);
        assertTrue(all > two);
        assertEquals(2, prompt.sources().size());
        assertEquals(List.of(3), prompt.dropped().stream().map(Hit::rank).toList());
        assertEquals(two, prompt.ids().length);
        WoqException e = assertThrows(WoqException.class, () -> CitedPrompt.fit(template, "Vacation?", hits(), 60, 40));
        assertTrue(e.getMessage().contains("context of 60 tokens with 40 left for the answer"), e.getMessage());
    }
}
