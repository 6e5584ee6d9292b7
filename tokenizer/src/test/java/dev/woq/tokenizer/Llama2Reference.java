package dev.woq.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Llama 2 reference ids of {@code llama2/llama2-reference.json} (made by
 * {@code llama2/make-reference.mjs} from two independent JavaScript tokenizers) and the real
 * Llama 2 tokenizer; a missing tokenizer fails the tests instead of skipping them.
 */
final class Llama2Reference {

    /** One text with its reference ids and the reference decoding of those ids. */
    record Encoding(String text, int[] ids, String decoded) {}

    /** One conversation, its rendering by Hugging Face's chat template, and its ids. */
    record Chat(List<Llama3ChatTemplate.Message> messages, String rendered, int[] ids) {}

    private Llama2Reference() {}

    static Llama2Tokenizer tokenizer() {
        Path path = TokenizerLocations.defaultLlama2TokenizerJson();
        if (!Files.isRegularFile(path)) {
            fail("Llama 2 tokenizer not found at " + path + ": run scripts/fetch-tokenizer.sh first");
        }
        return Llama2Tokenizer.load(path);
    }

    static List<Encoding> encodings() {
        List<Encoding> out = new ArrayList<>();
        for (JsonElement e : root().getAsJsonArray("encodings")) {
            JsonObject o = e.getAsJsonObject();
            out.add(new Encoding(o.get("text").getAsString(), ids(o.getAsJsonArray("ids")),
                    o.get("decoded").getAsString()));
        }
        return out;
    }

    static List<Chat> chats() {
        List<Chat> out = new ArrayList<>();
        for (JsonElement e : root().getAsJsonArray("chats")) {
            JsonObject o = e.getAsJsonObject();
            List<Llama3ChatTemplate.Message> messages = new ArrayList<>();
            for (JsonElement m : o.getAsJsonArray("messages")) {
                JsonObject mo = m.getAsJsonObject();
                messages.add(new Llama3ChatTemplate.Message(
                        Llama3ChatTemplate.Role.valueOf(mo.get("role").getAsString().toUpperCase()),
                        mo.get("content").getAsString()));
            }
            out.add(new Chat(messages, o.get("rendered").getAsString(), ids(o.getAsJsonArray("ids"))));
        }
        return out;
    }

    static String chatTemplate() {
        return root().get("chat_template").getAsString();
    }

    private static int[] ids(JsonArray array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).getAsInt();
        }
        return ids;
    }

    private static JsonObject root() {
        try (InputStream in = Llama2Reference.class.getResourceAsStream("/llama2/llama2-reference.json")) {
            if (in == null) {
                throw new IllegalStateException("llama2/llama2-reference.json is not on the test classpath");
            }
            return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
