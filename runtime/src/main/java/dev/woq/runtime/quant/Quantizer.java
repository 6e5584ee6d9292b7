package dev.woq.runtime.quant;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.ActivationProbe;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.ShardedCheckpointWriter;
import dev.woq.tokenizer.Tokenizer;
import dev.woq.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Quantizes a Hugging Face Llama checkpoint's projection weights into woq's quantized checkpoint
 * layout (see the package documentation), in pure Java and bounded memory.
 *
 * <p>Source tensors are read one at a time, in row blocks of at most 16 MiB,
 * straight from their safetensors files; each block is quantized in parallel over rows and its
 * packed weights written at once. Only the scales and zero points of the tensor being quantized are
 * kept until its packed weights are done ({@code N * K / groupSize * 2} bytes each: 8 MiB for
 * Llama 3 8B's LM head at group size 128, 32 MiB at 32), and the few tensors whose size is not a
 * multiple of 64 bytes, written last ({@link #TENSOR_ALIGNMENT}). Measured on Llama 3 8B's widths
 * (hidden 4096, intermediate 14336, vocabulary 128,256), int4-g128 runs in a 64 MB heap, int4-g32
 * and int8 in 112 MB, at about 350 MB/s of source on two cores.
 */
public final class Quantizer {
    /** Files copied from the source directory when present. */
    public static final List<String> COPIED_FILES =
            List.of(LlamaConfig.FILE_NAME, "generation_config.json", "tokenizer.json", "tokenizer_config.json");

    /**
     * Every tensor whose size is a multiple of this many bytes (the codes and scales of Llama's
     * matrices) starts at such a multiple in its file, so the kernels' 64-byte loads of a mapped
     * row never straddle two cache lines ({@link QuantizePlan#alignedFirst}).
     */
    public static final int TENSOR_ALIGNMENT = 64;

    /**
     * What a run did.
     *
     * @param tensors tensors in the quantized checkpoint
     * @param bytesRead bytes of source tensor data read
     * @param bytesWritten bytes of every file written to the target (shards with headers, index, copies)
     * @param seconds wall-clock time
     * @param tensorSha256 hex SHA-256 of each written tensor's data, by name, hashed while writing
     */
    public record Report(long tensors, long bytesRead, long bytesWritten, double seconds,
            Map<String, String> tensorSha256) {
        public Report {
            tensorSha256 = Map.copyOf(tensorSha256);
        }
    }

    /** Receives progress after every row block: source tensors and bytes done so far, of the totals. */
    @FunctionalInterface
    public interface Progress {
        void update(long tensorsDone, long tensorsTotal, long bytesDone, long bytesTotal);

        /** Before any tensor, with {@code --calibration}: calibration tokens run through the model so far, of the total. */
        default void calibrating(long tokensDone, long tokensTotal) {}

        Progress NONE = (a, b, c, d) -> {};
    }

    private Quantizer() {}

    /** {@code P.qweight} for a projection weight {@code P.weight}. */
    public static String qweightName(String weightName) {
        return base(weightName) + ".qweight";
    }

    /** {@code P.scales} for a projection weight {@code P.weight}. */
    public static String scalesName(String weightName) {
        return base(weightName) + ".scales";
    }

    /** {@code P.zeros} (int4 only) for a projection weight {@code P.weight}. */
    public static String zerosName(String weightName) {
        return base(weightName) + ".zeros";
    }

    /** {@code P.scale_max} (int4-q32 only) for a projection weight {@code P.weight}. */
    public static String scaleMaxName(String weightName) {
        return base(weightName) + ".scale_max";
    }

    private static String base(String weightName) {
        if (!weightName.endsWith(".weight")) {
            throw new IllegalArgumentException("not a weight name: " + weightName);
        }
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    /**
     * The bf16 weight names that {@code recipe} quantizes for a model of {@code config}: every
     * layer's seven projections, then {@code lm_head.weight} when the recipe quantizes it and the
     * config does not tie it to the embedding.
     */
    public static List<String> quantizedWeights(LlamaConfig config, QuantRecipe recipe) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            names.addAll(LlamaWeights.layer(i).projections());
        }
        if (recipe.quantizeLmHead() && !config.tieWordEmbeddings()) {
            names.add(LlamaWeights.LM_HEAD);
        }
        return names;
    }

    /**
     * Quantizes {@code sourceDir} (a Hugging Face Llama checkpoint: config.json and safetensors)
     * into {@code targetDir}, which must exist and be empty, in shards of at most 5 GB.
     *
     * @throws ConfigException if the recipe cannot take a projection's shape (before anything is written)
     * @throws CheckpointException if the source is missing tensors, has unexpected shapes or dtypes,
     *     holds a non-finite weight, or on an I/O error; the target is then left empty
     */
    public static Report quantize(Path sourceDir, Path targetDir, QuantRecipe recipe, Progress progress) {
        return quantize(sourceDir, targetDir, recipe, ShardedCheckpointWriter.DEFAULT_MAX_SHARD_BYTES, progress);
    }

    /** As {@link #quantize(Path, Path, QuantRecipe, Progress)} with shards of at most {@code maxShardBytes} data bytes. */
    public static Report quantize(
            Path sourceDir, Path targetDir, QuantRecipe recipe, long maxShardBytes, Progress progress) {
        long start = System.nanoTime();
        requireEmptyDirectory(targetDir);
        LlamaConfig config = LlamaConfig.load(sourceDir);
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(sourceDir);
        QuantizePlan plan = QuantizePlan.of(config, source, recipe);
        OutputSpace.require(targetDir, OutputSpace.expectedBytes(plan.declarations(), sourceDir, COPIED_FILES),
                "the " + recipe.id() + " quantization of " + sourceDir);

        ActivationImportance importance = recipe.calibration() == null ? null
                : measureImportance(sourceDir, recipe.calibration(), progress);

        List<Path> created = new ArrayList<>();
        boolean done = false;
        long written = 0;
        Map<String, String> sha256 = Map.of();
        QuantizeRun run = new QuantizeRun(plan, importance, progress);
        try {
            try (ShardedCheckpointWriter writer =
                    new ShardedCheckpointWriter(targetDir, plan.declarations(), maxShardBytes, Map.of("format", "pt"))) {
                created.addAll(writer.files());
                run.writeAll(writer);
                writer.commit();
                sha256 = writer.tensorSha256();
            } finally {
                run.closeChannels();
            }
            for (String name : COPIED_FILES) {
                Path from = sourceDir.resolve(name);
                if (Files.isRegularFile(from)) {
                    Path to = targetDir.resolve(name);
                    created.add(to);
                    Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
            Path recipeFile = targetDir.resolve(QuantRecipe.FILE_NAME);
            Path tmp = targetDir.resolve("." + QuantRecipe.FILE_NAME + ".tmp");
            created.add(tmp);
            created.add(recipeFile);
            String json = new GsonBuilder().setPrettyPrinting().create().toJson(recipe.toJson()) + "\n";
            Files.writeString(tmp, json, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
            Files.move(tmp, recipeFile, StandardCopyOption.ATOMIC_MOVE);
            for (Path p : created) {
                if (Files.isRegularFile(p)) {
                    written += Files.size(p);
                }
            }
            done = true;
        } catch (IOException e) {
            throw new CheckpointException("Quantizing " + sourceDir + " into " + targetDir + " failed: " + e
                    + ". Check free disk space and permissions; the files written so far were deleted.", e);
        } finally {
            if (!done) {
                for (Path p : created) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // the original failure matters more
                    }
                }
            }
        }
        return new Report(plan.declarations().size(), run.bytesDone, written, (System.nanoTime() - start) / 1e9,
                sha256);
    }

    /**
     * Runs the calibration text through the source model (bf16, on the process's torch runtime) and
     * returns its projections' input importance. The model is mapped for the pass and closed after.
     */
    static ActivationImportance measureImportance(Path sourceDir, Calibration calibration, Progress progress) {
        Path tokenizerFile = sourceDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new CheckpointException("No tokenizer.json in " + sourceDir + " to tokenize the calibration text "
                    + calibration.text() + ": --calibration needs the model's tokenizer beside its weights.");
        }
        int[] tokens;
        try (Tokenizer tokenizer = Tokenizers.load(tokenizerFile)) {
            tokens = tokenizer.encode(Files.readString(calibration.text(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ConfigException("Cannot read the calibration text " + calibration.text() + ": " + e.getMessage()
                    + ". --calibration takes a UTF-8 text file.");
        }
        if (tokens.length < Calibration.MIN_TOKENS) {
            throw new ConfigException("The calibration text " + calibration.text() + " has " + tokens.length
                    + " tokens: give at least " + Calibration.MIN_TOKENS + " (a few thousand is better).");
        }
        if (tokens.length > calibration.maxTokens()) {
            tokens = Arrays.copyOf(tokens, calibration.maxTokens());
        }
        // the probe shortens the window to the model's context where that is shorter
        return ActivationProbe.measure(TorchRuntime.current(), sourceDir, tokens, Calibration.WINDOW,
                progress::calibrating);
    }

    private static void requireEmptyDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("Target directory " + dir + (Files.exists(dir) ? " is a file" : " does not exist")
                    + ": the quantized checkpoint goes into an existing, empty directory. Create one.");
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                names.add(f.getFileName().toString());
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot list target directory " + dir + ": " + e + ". Check its permissions.", e);
        }
        if (!names.isEmpty()) {
            names.sort(null);
            throw new CheckpointException("Target directory " + dir + " is not empty (it holds " + names.size()
                    + " entries, e.g. '" + names.get(0) + "'): the quantized checkpoint goes into an empty directory."
                    + " Choose another directory or empty it.");
        }
    }

}
