package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.TOKENIZER_LLAMA;
import static dev.woq.runtime.gguf.GgufKeys.TOKENIZER_MODEL;

import dev.woq.tokenizer.TokenizerException;
import dev.woq.tokenizer.TokenizerFamily;
import dev.woq.tokenizer.Tokenizers;
import dev.woq.runtime.CheckpointException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer vocabulary as GGUF's {@code tokenizer.ggml.*} keys hold it, for either family woq
 * runs: Llama 3's byte-level BPE ({@link Llama3Vocabulary}) or Llama 2's SentencePiece
 * ({@link Llama2Vocabulary}). The importer rebuilds a {@code tokenizer.json} from it; the
 * exporter writes it from one.
 */
public sealed interface GgufVocabulary permits Llama2Vocabulary, Llama3Vocabulary {

    /**
     * Every token's text, by id.
     *
     * @return the tokens
     */
    List<String> tokens();

    /**
     * The tokenizer keys of a GGUF (without the bos/eos ids and chat template).
     *
     * @return the keys and their values, in writing order
     */
    Map<String, GgufValue> metadata();

    /**
     * Hugging Face's {@code tokenizer.json} for this vocabulary.
     *
     * @return the file's text
     */
    String toTokenizerJson();

    /**
     * The vocabulary of a GGUF file, by its {@code tokenizer.ggml.model}.
     *
     * @param r the open file
     * @return the vocabulary
     * @throws GgufException for a vocabulary woq cannot rebuild, naming it
     */
    static GgufVocabulary read(GgufReader r) {
        return TOKENIZER_LLAMA.equals(r.requireString(TOKENIZER_MODEL))
                ? Llama2Vocabulary.read(r) : Llama3Vocabulary.read(r);
    }

    /**
     * The vocabulary of a model directory's {@code tokenizer.json}, by its family.
     *
     * @param file the {@code tokenizer.json}
     * @param vocabSize the model's vocabulary size, which the token list is padded to
     * @return the vocabulary
     * @throws CheckpointException if the file is not a tokenizer woq reads
     */
    static GgufVocabulary fromTokenizerJson(Path file, int vocabSize) {
        TokenizerFamily family;
        try {
            family = Tokenizers.family(file);
        } catch (TokenizerException e) {
            throw new CheckpointException("Cannot export the tokenizer: " + e.getMessage(), e);
        }
        return family == TokenizerFamily.LLAMA2
                ? Llama2Vocabulary.fromTokenizerJson(file, vocabSize)
                : Llama3Vocabulary.fromTokenizerJson(file, vocabSize);
    }
}
