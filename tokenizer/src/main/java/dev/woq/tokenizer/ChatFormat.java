package dev.woq.tokenizer;

import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import java.util.List;
import java.util.Set;

/**
 * How a dialog becomes the token ids of a prompt, and which tokens end the model's turn:
 * {@link Llama3ChatTemplate} (Llama 3's headers and {@code <|eot_id|>}) or
 * {@link Llama2ChatFormat} ({@code <s>[INST] <<SYS>> ... [/INST] ... </s>}). {@link ChatFormats}
 * chooses one from the model's chat template. Messages are {@link Llama3ChatTemplate.Message}s
 * for either format.
 */
public interface ChatFormat {

    /**
     * A short name for messages and logs.
     *
     * @return "llama3" or "llama2"
     */
    String name();

    /**
     * The tokenizer the format encodes with.
     *
     * @return the tokenizer
     */
    Tokenizer tokenizer();

    /**
     * Encodes a dialog as a prompt for the model's next turn, token for token as the format's
     * reference renders it (its {@code <s>} or {@code <|begin_of_text|>} included).
     *
     * @param dialog the messages, oldest first
     * @return the prompt's token ids
     * @throws TokenizerException if the format cannot express the dialog (Llama 2 needs an optional
     *     system message first, then user and assistant in turn, ending with the user)
     */
    int[] encodeDialogPrompt(List<Message> dialog);

    /**
     * The tokens that end the model's turn, after which generation stops.
     *
     * @return an immutable set of token ids
     */
    Set<Integer> stopTokenIds();
}
