package dev.woq.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Chooses a model's chat format from its chat template, never from a file name.
 *
 * <p>The template is the {@code chat_template} of the model's {@code tokenizer_config.json}
 * (which {@code woq import --gguf} fills from the GGUF's {@code tokenizer.chat_template}). woq does
 * not run Jinja: it recognises the template by its markers and renders the matching format
 * itself, token for token as the reference does:
 * <ul>
 *   <li>{@code <|start_header_id|>} and {@code <|end_header_id|>}: Llama 3's header format
 *       (Llama 3, 3.1 and 3.2 templates; woq renders Meta's reference {@code ChatFormat}, without
 *       the date lines 3.1's template adds to the system message);
 *   <li>{@code [INST]} and {@code <<SYS>>}: Llama 2's format.
 * </ul>
 * Without a template the tokenizer's family decides, and {@link Choice#how()} says so. Any other
 * template is an error that quotes it.
 */
public final class ChatFormats {
    private ChatFormats() {}

    /**
     * A chosen format and how it was chosen, for the startup message.
     *
     * @param format the chat format
     * @param how e.g. "llama3, from the chat_template of tokenizer_config.json"
     */
    public record Choice(ChatFormat format, String how) {}

    /**
     * Chooses the chat format of a model directory from its {@code tokenizer_config.json}.
     *
     * @param modelDir the model directory
     * @param tokenizer the model's tokenizer
     * @return the format and how it was chosen
     * @throws TokenizerException if the config cannot be read, its template is not one woq knows,
     *     or it does not fit the tokenizer
     */
    public static Choice forModel(Path modelDir, Tokenizer tokenizer) {
        Objects.requireNonNull(modelDir, "modelDir");
        Path config = modelDir.resolve("tokenizer_config.json");
        Optional<String> template = chatTemplate(config);
        return choose(template.orElse(null), tokenizer, config.toString());
    }

    /**
     * Chooses the chat format for a template.
     *
     * @param chatTemplate the Jinja chat template, or {@code null} if the model has none
     * @param tokenizer the model's tokenizer
     * @param source where the template came from, for messages
     * @return the format and how it was chosen
     * @throws TokenizerException if the template is not one woq knows, or does not fit the tokenizer
     */
    public static Choice choose(String chatTemplate, Tokenizer tokenizer, String source) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        if (chatTemplate == null || chatTemplate.isBlank()) {
            ChatFormat format = defaultFor(tokenizer);
            return new Choice(format, format.name() + ", the default of the " + tokenizer.family().description()
                    + " tokenizer: " + source + " has no chat_template");
        }
        TokenizerFamily family;
        if (chatTemplate.contains("<|start_header_id|>") && chatTemplate.contains("<|end_header_id|>")) {
            family = TokenizerFamily.LLAMA3;
        } else if (chatTemplate.contains("[INST]") && chatTemplate.contains("<<SYS>>")) {
            family = TokenizerFamily.LLAMA2;
        } else {
            throw new TokenizerException("the chat_template of " + source + " is not one woq knows: "
                    + excerpt(chatTemplate) + ". woq renders Llama 3's format (<|start_header_id|>"
                    + " headers) and Llama 2's ([INST] with <<SYS>>); remove chat_template to use the"
                    + " tokenizer's default format");
        }
        if (family != tokenizer.family()) {
            throw new TokenizerException("the chat_template of " + source + " is " + family.description()
                    + "'s format, but the tokenizer " + tokenizer.path() + " is " + tokenizer.family().description()
                    + "'s: the model directory mixes two families");
        }
        ChatFormat format = create(family, tokenizer);
        return new Choice(format, format.name() + ", from the chat_template of " + source);
    }

    /**
     * The format a tokenizer's family uses when the model has no chat template.
     *
     * @param tokenizer the tokenizer
     * @return Llama 3's format for Llama 3 tokenizers, Llama 2's for Llama 2 tokenizers
     */
    public static ChatFormat defaultFor(Tokenizer tokenizer) {
        return create(tokenizer.family(), tokenizer);
    }

    private static ChatFormat create(TokenizerFamily family, Tokenizer tokenizer) {
        return switch (family) {
            case LLAMA3 -> new Llama3ChatTemplate(tokenizer);
            case LLAMA2 -> new Llama2ChatFormat(tokenizer);
        };
    }

    /** The {@code chat_template} string of a {@code tokenizer_config.json}, if the file and key exist. */
    static Optional<String> chatTemplate(Path tokenizerConfig) {
        if (!Files.isRegularFile(tokenizerConfig)) {
            return Optional.empty();
        }
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(tokenizerConfig, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(tokenizerConfig + " is not valid JSON (" + e.getMessage()
                    + "); fix or remove it", e);
        }
        JsonElement template = json.get("chat_template");
        if (template == null || template.isJsonNull()) {
            return Optional.empty();
        }
        if (!template.isJsonPrimitive()) {
            // A list of named templates (tool use, RAG): the "default" one is the chat template.
            for (JsonElement e : template.getAsJsonArray()) {
                JsonObject named = e.getAsJsonObject();
                if ("default".equals(named.get("name").getAsString())) {
                    return Optional.of(named.get("template").getAsString());
                }
            }
            throw new TokenizerException(tokenizerConfig + " has named chat templates but none called"
                    + " \"default\"");
        }
        return Optional.of(template.getAsString());
    }

    private static String excerpt(String template) {
        String flat = template.replace("\n", "\\n");
        return '"' + (flat.length() > 120 ? flat.substring(0, 120) + "..." : flat) + '"';
    }
}
