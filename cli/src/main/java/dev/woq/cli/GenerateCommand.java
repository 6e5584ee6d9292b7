package dev.woq.cli;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.Generator;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.util.ProcessMemory;
import dev.woq.runtime.LocalModel;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.ChatFormats;
import dev.woq.tokenizer.Llama3ChatTemplate.Message;
import dev.woq.tokenizer.Llama3ChatTemplate.Role;
import dev.woq.tokenizer.StreamingDecoder;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.TokenizerException;
import dev.woq.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq generate}: one prompt in, one continuation out, streamed or whole. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Generate a continuation of a prompt (or a chat reply with --chat).",
        footerHeading = "%nExamples:%n",
        // Help is wrapped at 80 columns: every example line must fit, or picocli breaks it mid-command.
        footer = {
            "  woq generate --model /tmp/s --chat --system 'Be brief.' \\",
            "      --prompt 'What is Java?' --stream",
            "  woq generate --model /tmp/s --dtype int4 --chat --prompt 'Hi' --stream",
            "  woq generate --model /tmp/s --prompt 'Once upon a time' \\",
            "      --temperature 0.8 --top-p 0.95 --seed 7",
            "  woq generate --model /tmp/s --prompt-ids 128000,2028,374,264,1296,11914,13 \\",
            "      --temperature 0 --max-new-tokens 16 --json --logits-out /tmp/l.f32"
        })
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    WeightsOptions weights;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptInput prompt;

    static final class PromptInput {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt text.")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",",
                description = "The prompt as token ids, e.g. 128000,2028,374 (used as given: no BOS added).")
        List<Integer> ids;
    }

    @Option(names = "--chat", description = "Format --prompt as a user message in the model's chat format"
            + " (from its chat template: Llama 3's or Llama 2's).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message (with --chat).")
    String system;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--stream", description = "Print tokens as they are generated.")
    boolean stream;

    @Option(names = "--json", description = "Print one JSON object: ids, text and timings (streamed text goes to stderr).")
    boolean json;

    @Option(names = "--logits-out", paramLabel = "FILE",
            description = "Write the logits at the last prompt position as little-endian float32.")
    Path logitsOut;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    /** Output goes through the command line's writers (stdout and stderr in {@code main}), so tests can capture it. */
    @Spec
    CommandSpec spec;

    /** How --chat's format was chosen, for the startup line; null without --chat. */
    private String chatFormatChoice;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (chat && prompt.text == null) {
            throw new WoqException("--chat needs --prompt TEXT (the user message), not --prompt-ids");
        }
        if (system != null && !chat) {
            throw new WoqException("--system only applies with --chat");
        }
        long seedUsed = sampling.seed();
        // Checks the sampling options before spending time on loading the model.
        sampling.config(Set.of());

        Path dir = weights.resolve(err);
        long loadStart = System.nanoTime();
        TorchRuntime torch = TorchRuntime.start(runtime.threads);
        LlamaConfig modelConfig = LlamaConfig.load(dir);
        Tokenizer tokenizer = loadTokenizer(dir);
        try {
            Set<Integer> stops = new HashSet<>();
            int[] promptIds = promptIds(tokenizer, modelConfig, stops, dir);
            try (LlamaModel llama = LlamaModel.load(torch, dir)) {
                runtime.applyTo(llama);
                double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
                err.printf(Locale.ROOT, "woq: %s; model %s (%d layers, %s), loaded in %.1f s%s%n",
                        torch.describe(), dir, llama.config().numLayers(), llama.weightFormat(), loadSeconds,
                        chatFormatChoice == null ? "" : "; chat format " + chatFormatChoice);
                err.flush();
                GenerationConfig config = sampling.config(stops);

                PrintWriter textOut = json ? err : out;
                StreamingDecoder decoder = tokenizer != null ? new StreamingDecoder(tokenizer) : null;
                GenerationResult result = new Generator(llama).generate(promptIds, config, id -> {
                    if (stream && decoder != null) {
                        textOut.print(decoder.push(id));
                        textOut.flush();
                    }
                });
                String text = tokenizer != null ? decodeSkippingSpecial(tokenizer, result.generatedIds()) : null;
                if (stream && decoder != null) {
                    textOut.print(decoder.flush());
                    textOut.println();
                    textOut.flush();
                } else if (!json && text != null) {
                    textOut.println(text);
                    textOut.flush();
                }
                if (logitsOut != null) {
                    writeFloats(logitsOut, result.firstLogits());
                }
                long peakRss = ProcessMemory.peakRssBytes();
                err.printf(Locale.ROOT,
                        "woq: prompt %d tokens, %.1f tok/s; generated %d tokens, %.2f tok/s; "
                                + "first token after %.0f ms; stop: %s; peak RSS %.0f MiB; seed %d%n",
                        promptIds.length, result.prefillTokensPerSecond(), result.generatedIds().length,
                        result.decodeTokensPerSecond(), result.timeToFirstTokenNanos() / 1e6,
                        result.stopReason().name().toLowerCase(Locale.ROOT), peakRss / 1048576.0, seedUsed);
                err.flush();
                if (json) {
                    out.println(toJson(result, text, loadSeconds, peakRss, seedUsed, llama, dir));
                    out.flush();
                }
            }
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        return 0;
    }

    /**
     * The prompt's ids, from --prompt-ids as given, --chat in the model's chat format (adding its stop
     * tokens to {@code stops}), or --prompt after a BOS token. Checked against the context length
     * here, before the weights are loaded.
     */
    private int[] promptIds(Tokenizer tokenizer, LlamaConfig modelConfig, Set<Integer> stops, Path dir) {
        int[] promptIds;
        if (prompt.ids != null) {
            promptIds = prompt.ids.stream().mapToInt(Integer::intValue).toArray();
        } else if (chat) {
            ChatFormats.Choice choice = LocalModel.chatFormat(dir, tokenizer);
            chatFormatChoice = choice.how();
            ChatFormat template = choice.format();
            List<Message> dialog = new ArrayList<>();
            if (system != null) {
                dialog.add(new Message(Role.SYSTEM, system));
            }
            dialog.add(new Message(Role.USER, prompt.text));
            try {
                promptIds = template.encodeDialogPrompt(dialog);
            } catch (TokenizerException e) {
                throw new WoqException(e.getMessage(), e);
            }
            stops.addAll(template.stopTokenIds());
        } else {
            int[] text = tokenizer.encode(prompt.text);
            promptIds = new int[text.length + 1];
            promptIds[0] = modelConfig.bosTokenId();
            System.arraycopy(text, 0, promptIds, 1, text.length);
        }
        int context = modelConfig.maxPositionEmbeddings();
        if (promptIds.length >= context) {
            // As Generator says it, but before the weights are loaded.
            throw new WoqException(
                    "The prompt has " + promptIds.length + " tokens but the model's context holds "
                            + context + " (and at least one must be left to generate): shorten the prompt");
        }
        return promptIds;
    }

    private Tokenizer loadTokenizer(Path dir) {
        Path file = tokenizerOption.file != null ? tokenizerOption.file : dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            if (prompt.ids != null && tokenizerOption.file == null) {
                return null; // ids in, ids out: the text is optional
            }
            throw new WoqException("No tokenizer at " + file + ": the model directory needs tokenizer.json, or pass --tokenizer FILE");
        }
        return Tokenizers.load(file);
    }

    private static String decodeSkippingSpecial(Tokenizer tokenizer, int[] ids) {
        StreamingDecoder d = new StreamingDecoder(tokenizer);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.push(id));
        }
        return sb.append(d.flush()).toString();
    }

    private static String toJson(
            GenerationResult r, String text, double loadSeconds, long peakRss, long seed, LlamaModel llama, Path dir) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_ids", r.promptIds());
        m.put("generated_ids", r.generatedIds());
        m.put("text", text);
        m.put("stop_reason", r.stopReason().name().toLowerCase(Locale.ROOT));
        m.put("seed", seed);
        m.put("dtype", llama.weightFormat());
        m.put("model_dir", dir.toString());
        m.put("load_seconds", loadSeconds);
        m.put("time_to_first_token_ms", r.timeToFirstTokenNanos() / 1e6);
        m.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
        double decode = r.decodeTokensPerSecond();
        m.put("decode_tokens_per_second", Double.isNaN(decode) ? null : decode);
        m.put("weight_bytes_per_token", llama.weightBytesPerToken());
        m.put("peak_rss_bytes", peakRss);
        return new GsonBuilder().serializeNulls().create().toJson(m);
    }

    /** Writes little-endian float32 via a temporary file, so a reader never sees half a file. */
    static void writeFloats(Path target, float[] values) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        Path parent = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(parent, "." + target.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        try {
            Files.write(tmp, buf.array());
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
