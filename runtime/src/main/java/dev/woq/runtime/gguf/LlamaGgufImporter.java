package dev.woq.runtime.gguf;

import static dev.woq.runtime.gguf.GgufKeys.*;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.TensorRows;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.quant.WeightCodec;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.ShardedCheckpointWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.util.Trees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a GGUF Llama into a Hugging Face checkpoint directory that every woq command loads:
 * {@code config.json} from the {@code llama.*} keys, {@code tokenizer.json} and {@code
 * tokenizer_config.json} (with the file's chat template) from the {@code tokenizer.*} keys, and the
 * weights dequantized tensor by tensor to bf16 safetensors, Q and K rows put back in Hugging Face's
 * order. BF16 tensors are copied exactly; every other type costs the bf16 rounding of its
 * dequantized values, which {@link Report#toBf16} measures per type. The directory is written aside
 * and renamed into place, so it is either complete or absent.
 */
public final class LlamaGgufImporter {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int CHUNK_VALUES = 4 << 20;

    /**
     * What an import did.
     *
     * @param dir the checkpoint directory
     * @param config its config
     * @param toBf16 per GGUF tensor type: tensors and the SQNR of their bf16 copy against the GGUF values
     * @param seconds wall-clock time
     */
    public record Report(Path dir, LlamaConfig config, Map<GgufType, Sqnr> toBf16, double seconds) {}

    /** Receives progress after every tensor. */
    @FunctionalInterface
    public interface Progress {
        void update(int tensorsDone, int tensorsTotal);
    }

    private LlamaGgufImporter() {}

    /**
     * Imports {@code gguf} into the new directory {@code target}.
     *
     * @param replace whether an existing {@code target} is replaced (else it is an error)
     * @throws GgufException for a file woq cannot run (architecture, vocabulary, tensor type, extra
     *     tensors), naming what it found
     */
    public static Report importTo(Path gguf, Path target, boolean replace, Progress progress) {
        long start = System.nanoTime();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !replace) {
            throw new CheckpointException(target + " exists already: choose another --name, or pass --force to replace it.");
        }
        Path parent = target.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + hex());
        try (GgufReader r = GgufReader.open(gguf)) {
            LlamaConfig config = LlamaGgufConfig.read(r);
            GgufVocabulary vocab = GgufVocabulary.read(r);
            List<GgufTensorInfo> weights = checkTensors(r, config);
            Files.createDirectories(parent);
            Files.createDirectory(tmp);
            writeText(tmp.resolve(LlamaConfig.FILE_NAME), config.toJson());
            writeText(tmp.resolve("tokenizer.json"), vocab.toTokenizerJson());
            writeText(tmp.resolve("tokenizer_config.json"), tokenizerConfig(r, vocab, config));
            Map<GgufType, Sqnr> errors = writeWeights(r, weights, config, tmp, progress);
            publish(tmp, target);
            return new Report(target, config, errors, (System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new CheckpointException("Cannot write the imported model to " + tmp + ": " + e.getMessage()
                    + ". Check free disk space and permissions.", e);
        } finally {
            Trees.deleteQuietly(tmp);
        }
    }

    /** The Llama tensors of {@code r}, each with its expected shape; anything else is refused by name. */
    private static List<GgufTensorInfo> checkTensors(GgufReader r, LlamaConfig config) {
        Map<String, long[]> expected = new LinkedHashMap<>();
        for (LlamaWeights.Entry e : LlamaWeights.entries(config)) {
            expected.put(e.name(), e.shape());
        }
        List<GgufTensorInfo> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (GgufTensorInfo t : r.tensors()) {
            if (t.name().equals(LlamaTensorNames.ROPE_FREQS)) {
                continue; // read into the config's rope scaling
            }
            String hf = LlamaTensorNames.toHf(t.name());
            long[] shape = expected.get(hf);
            if (shape == null) {
                throw new GgufException(r.path() + ": tensor '" + t.name() + "' does not fit the model its metadata describes ("
                        + config.numLayers() + " layers" + (config.tieWordEmbeddings() ? ", tied embeddings" : "") + ").");
            }
            if (!java.util.Arrays.equals(shape, t.hfShape())) {
                throw new GgufException(r.path() + ": tensor '" + t.name() + "' has shape " + java.util.Arrays.toString(t.hfShape())
                        + " but the metadata gives " + java.util.Arrays.toString(shape) + ".");
            }
            seen.add(hf);
            out.add(t);
        }
        List<String> missing = expected.keySet().stream().filter(n -> !seen.contains(n)).map(LlamaTensorNames::toGguf).toList();
        if (!missing.isEmpty()) {
            throw new GgufException(r.path() + " lacks tensors " + missing.subList(0, Math.min(5, missing.size()))
                    + (missing.size() > 5 ? " and " + (missing.size() - 5) + " more" : "") + ": the file is incomplete.");
        }
        return out;
    }

    private static Map<GgufType, Sqnr> writeWeights(GgufReader r, List<GgufTensorInfo> weights, LlamaConfig config,
            Path dir, Progress progress) {
        List<TensorDeclaration> decls = weights.stream()
                .map(t -> TensorDeclaration.of(LlamaTensorNames.toHf(t.name()), SafetensorsDtype.BF16, t.hfShape()))
                .toList();
        Map<GgufType, Sqnr> errors = new EnumMap<>(GgufType.class);
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, decls,
                ShardedCheckpointWriter.DEFAULT_MAX_SHARD_BYTES, Map.of("format", "pt"))) {
            int done = 0;
            for (GgufTensorInfo t : weights) {
                String hf = LlamaTensorNames.toHf(t.name());
                Sqnr sqnr = errors.computeIfAbsent(t.type(), k -> new Sqnr());
                sqnr.countTensor();
                ByteBuffer data = r.data(t);
                int k = (int) t.rowLength();
                int rows = (int) t.rows();
                int chunk = Math.max(1, CHUNK_VALUES / k);
                ByteBuffer out = ByteBuffer.allocate(2 * k * Math.min(chunk, rows)).order(ByteOrder.LITTLE_ENDIAN);
                float[] bf = new float[k];
                for (int r0 = 0; r0 < rows; r0 += chunk) {
                    int n = Math.min(chunk, rows - r0);
                    out.clear();
                    for (int row = r0; row < r0 + n; row++) {
                        if (t.type() == GgufType.BF16) { // the same bits: exact, nothing to measure
                            int g = LlamaTensorNames.permuted(hf) ? LlamaTensorNames.ggufRowOfHfRow(row, config.headDim()) : row;
                            out.put(out.position(), data, g * 2 * k, 2 * k);
                            out.position(out.position() + 2 * k);
                            continue;
                        }
                        float[] x = hfRow(t, data, hf, row, config);
                        for (int c = 0; c < k; c++) {
                            short b = WeightCodec.toBf16(x[c]);
                            out.putShort(b);
                            bf[c] = WeightCodec.bf16ToFloat(b);
                        }
                        sqnr.add(x, bf, k);
                    }
                    out.flip();
                    w.writeTensor(hf, out);
                }
                progress.update(++done, weights.size());
            }
            w.commit();
        }
        return errors;
    }

    /** Hugging Face row {@code row} of GGUF tensor {@code t}, dequantized (Q and K rows un-permuted). */
    static float[] hfRow(GgufTensorInfo t, ByteBuffer data, String hf, int row, LlamaConfig config) {
        int g = LlamaTensorNames.permuted(hf) ? LlamaTensorNames.ggufRowOfHfRow(row, config.headDim()) : row;
        return GgufReader.dequantizeRows(t, data, g, 1);
    }

    /**
     * The error woq's quantized entry {@code entryDir} (made from an import of {@code gguf} with
     * {@code recipe}) has against the GGUF file's own values, per GGUF type of the quantized tensors.
     */
    public static Map<GgufType, Sqnr> measure(Path gguf, Path entryDir, QuantRecipe recipe) {
        SafetensorsCheckpoint entry = SafetensorsCheckpoint.open(entryDir);
        Map<GgufType, Sqnr> errors = new EnumMap<>(GgufType.class);
        try (GgufReader r = GgufReader.open(gguf)) {
            LlamaConfig config = LlamaGgufConfig.read(r);
            for (String hf : Quantizer.quantizedWeights(config, recipe)) {
                GgufTensorInfo t = r.tensor(LlamaTensorNames.toGguf(hf)).orElseThrow();
                Sqnr sqnr = errors.computeIfAbsent(t.type(), k -> new Sqnr());
                sqnr.countTensor();
                ByteBuffer data = r.data(t);
                int rows = (int) t.rows();
                int k = (int) t.rowLength();
                int chunk = Math.max(1, CHUNK_VALUES / k);
                for (int r0 = 0; r0 < rows; r0 += chunk) {
                    int n = Math.min(chunk, rows - r0);
                    float[] woq = TensorRows.dequantizeRows(entry, recipe, hf, r0, n);
                    float[] y = new float[k];
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(woq, i * k, y, 0, k);
                        sqnr.add(hfRow(t, data, hf, r0 + i, config), y, k);
                    }
                }
            }
        }
        return errors;
    }

    private static String tokenizerConfig(GgufReader r, GgufVocabulary vocab, LlamaConfig config) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token", vocab.tokens().get(config.bosTokenId()));
        if (!config.eosTokenIds().isEmpty()) {
            m.put("eos_token", vocab.tokens().get(config.eosTokenIds().get(0)));
        }
        r.value(CHAT_TEMPLATE).ifPresent(v -> m.put("chat_template", v.value()));
        m.put("clean_up_tokenization_spaces", true);
        m.put("model_max_length", config.maxPositionEmbeddings());
        if (vocab instanceof Llama2Vocabulary) {
            // Hugging Face's Llama 2 files: SentencePiece's dummy prefix on every piece of text.
            m.put("legacy", true);
            m.put("tokenizer_class", "LlamaTokenizerFast");
        } else {
            m.put("tokenizer_class", "PreTrainedTokenizerFast");
        }
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(m) + "\n";
    }

    private static void writeText(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /** Renames the complete {@code tmp} onto {@code target}, moving an old one aside first. */
    private static void publish(Path tmp, Path target) throws IOException {
        Trees.fsyncFilesAndDir(tmp);
        Path old = null;
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            old = tmp.resolveSibling("." + target.getFileName() + ".old-" + hex());
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new CheckpointException("Cannot rename " + tmp + " to " + target + " atomically: " + e.getMessage(), e);
        }
        Trees.fsyncDir(target.toAbsolutePath().getParent());
        if (old != null) {
            Trees.deleteQuietly(old);
        }
    }

    private static String hex() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
