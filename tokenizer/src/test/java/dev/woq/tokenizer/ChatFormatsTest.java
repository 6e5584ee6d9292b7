package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat formats against their reference renderings, and how a model's format is chosen. */
class ChatFormatsTest {

    private static final Llama2Tokenizer LLAMA2 = Llama2Reference.tokenizer();

    @TempDir
    Path dir;

    @Test
    void llama2FormatGivesTheIdsOfHuggingFacesTemplateRendering() {
        Llama2ChatFormat format = new Llama2ChatFormat(LLAMA2);
        List<Llama2Reference.Chat> chats = Llama2Reference.chats();
        assertTrue(chats.size() >= 4);
        for (Llama2Reference.Chat chat : chats) {
            assertArrayEquals(chat.ids(), format.encodeDialogPrompt(chat.messages()), chat.rendered());
        }
        assertEquals(Set.of(2), format.stopTokenIds());
    }

    @Test
    void llama2FormatRefusesDialogsItsTemplateRefuses() {
        Llama2ChatFormat format = new Llama2ChatFormat(LLAMA2);
        assertThrows(TokenizerException.class, () -> format.encodeDialogPrompt(List.of(
                new Message(Role.USER, "a"), new Message(Role.USER, "b"))));
        assertThrows(TokenizerException.class, () -> format.encodeDialogPrompt(List.of(
                new Message(Role.USER, "a"), new Message(Role.ASSISTANT, "b"))));
        assertThrows(TokenizerException.class, () -> format.encodeDialogPrompt(List.of(
                new Message(Role.SYSTEM, "only a system prompt"))));
    }

    @Test
    void llama3FormatGivesTheIdsOfHuggingFacesTemplateRendering() {
        Llama3Tokenizer llama3 = RealTokenizer.get();
        List<Message> dialog = List.of(
                new Message(Role.SYSTEM, " Be brief. "),
                new Message(Role.USER, "Hi there\n"),
                new Message(Role.ASSISTANT, "Hello! 🦙"),
                new Message(Role.USER, "Count: 1 2 3"));
        // What meta-llama/Meta-Llama-3-8B-Instruct's chat_template renders, with the generation prompt.
        String rendered = "<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello! 🦙<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nCount: 1 2 3<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertArrayEquals(llama3.encodeWithSpecialTokens(rendered),
                new Llama3ChatTemplate(llama3).encodeDialogPrompt(dialog));
    }

    @Test
    void theModelsChatTemplateChoosesTheFormat() throws IOException {
        ChatFormats.Choice llama2 = ChatFormats.forModel(modelDir("l2", Llama2Reference.chatTemplate()), LLAMA2);
        assertInstanceOf(Llama2ChatFormat.class, llama2.format());
        assertTrue(llama2.how().contains("from the chat_template"), llama2.how());

        String llama3Template = ChatFormats.chatTemplate(RealTokenizer.path().resolveSibling("tokenizer_config.json"))
                .orElseThrow();
        ChatFormats.Choice llama3 = ChatFormats.forModel(modelDir("l3", llama3Template), RealTokenizer.get());
        assertInstanceOf(Llama3ChatTemplate.class, llama3.format());
        assertEquals(Set.of(128001, 128009), llama3.format().stopTokenIds());
    }

    @Test
    void withoutATemplateTheTokenizersFamilyDecidesAndSaysSo() throws IOException {
        ChatFormats.Choice choice = ChatFormats.forModel(modelDir("none", null), LLAMA2);
        assertInstanceOf(Llama2ChatFormat.class, choice.format());
        assertTrue(choice.how().contains("has no chat_template"), choice.how());
        assertInstanceOf(Llama3ChatTemplate.class, ChatFormats.choose(null, RealTokenizer.get(), "x").format());
    }

    @Test
    void anUnknownTemplateIsAnErrorThatQuotesIt() throws IOException {
        // Mistral's template: [INST] without <<SYS>>.
        String mistral = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}";
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> ChatFormats.forModel(modelDir("mistral", mistral), LLAMA2));
        assertTrue(e.getMessage().contains("not one woq knows") && e.getMessage().contains("{{ bos_token }}"),
                e.getMessage());
    }

    @Test
    void aTemplateOfTheOtherFamilyIsRefused() throws IOException {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> ChatFormats.forModel(modelDir("mixed", Llama2Reference.chatTemplate()), RealTokenizer.get()));
        assertTrue(e.getMessage().contains("mixes two families"), e.getMessage());
    }

    private Path modelDir(String name, String chatTemplate) throws IOException {
        Path model = Files.createDirectories(dir.resolve(name));
        com.google.gson.JsonObject config = new com.google.gson.JsonObject();
        config.addProperty("bos_token", "<s>");
        if (chatTemplate != null) {
            config.addProperty("chat_template", chatTemplate);
        }
        Files.writeString(model.resolve("tokenizer_config.json"), config.toString());
        return model;
    }
}
