package dev.woq.tokenizer;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/** Opens a {@code tokenizer.json} as the family it is, so callers need not know which. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads a tokenizer, choosing the family from the file: a BPE model with
     * {@code byte_fallback} is Llama 2's SentencePiece BPE, any other BPE is Llama 3's byte-level
     * BPE.
     *
     * @param tokenizerJson the {@code tokenizer.json}, or a directory that holds one
     * @return the tokenizer; close it when done
     * @throws TokenizerException if the file is missing or neither family's
     */
    public static Tokenizer load(Path tokenizerJson) {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        Path file = Files.isDirectory(tokenizerJson)
                ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        return switch (family(file)) {
            case LLAMA2 -> Llama2Tokenizer.load(file);
            case LLAMA3 -> Llama3Tokenizer.load(file);
        };
    }

    /**
     * Tells which family a {@code tokenizer.json} belongs to, reading only its model's options.
     *
     * @param file the {@code tokenizer.json}
     * @return the family
     * @throws TokenizerException if the file is missing, unreadable or not a BPE tokenizer
     */
    public static TokenizerFamily family(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("tokenizer not found: " + file + " does not exist or is"
                    + " not a file; run scripts/fetch-tokenizer.sh, or point at the"
                    + " tokenizer.json that came with the model");
        }
        String type = null;
        boolean byteFallback = false;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                JsonReader in = new JsonReader(reader)) {
            in.beginObject();
            while (in.hasNext()) {
                if (!in.nextName().equals("model")) {
                    in.skipValue();
                    continue;
                }
                in.beginObject();
                while (in.hasNext()) {
                    switch (in.nextName()) {
                        case "type" -> type = in.nextString();
                        case "byte_fallback" -> {
                            if (in.peek() == JsonToken.BOOLEAN) {
                                byteFallback = in.nextBoolean();
                            } else {
                                in.skipValue();
                            }
                        }
                        default -> in.skipValue();
                    }
                }
                in.endObject();
                break;
            }
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + " is not a valid tokenizer.json ("
                    + e.getMessage() + ")", e);
        }
        if (!"BPE".equals(type)) {
            throw new TokenizerException(file + " has a " + (type == null ? "missing" : type)
                    + " model; woq reads BPE tokenizers only: Llama 3's byte-level BPE and"
                    + " Llama 2's SentencePiece BPE with byte_fallback");
        }
        return byteFallback ? TokenizerFamily.LLAMA2 : TokenizerFamily.LLAMA3;
    }
}
