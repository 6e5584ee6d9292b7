package dev.woq.runtime.synth;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.quant.WeightCodec;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.ShardedCheckpointWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.util.Trees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a random-weight checkpoint in the exact Hugging Face layout of a Llama 3 model:
 * {@code config.json}, {@code generation_config.json}, tokenizer files and bf16 safetensors,
 * sharded with an index when larger than one shard. Weights are N(0, 0.02) as Hugging Face
 * initializes them; norm weights are N(1, 0.1) so that tests see them applied.
 *
 * <p>Memory stays at one 64 MiB buffer whatever the size. The directory appears complete or not
 * at all: everything is written to a temporary sibling that is renamed at the end.
 */
public final class SyntheticCheckpoint {
    /** Hugging Face's default shard size for Llama 3 8B (4 shards). */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;
    /** Hugging Face's {@code initializer_range} for Llama. */
    public static final double HF_INIT_STD = 0.02;
    private static final int CHUNK_BYTES = 64 << 20;

    /** Receives progress: bytes of weights written so far of the total. */
    @FunctionalInterface
    public interface Progress {
        void update(long bytesDone, long bytesTotal);

        Progress NONE = (done, total) -> {};
    }

    private SyntheticCheckpoint() {}

    /**
     * Writes the checkpoint to {@code out}, which must not exist yet.
     *
     * @param tokenizerJson a {@code tokenizer.json} to copy in, or {@code null} for none
     */
    public static void write(
            Path out, LlamaConfig config, long seed, Path tokenizerJson, long maxShardBytes, Progress progress) {
        write(out, config, seed, HF_INIT_STD, tokenizerJson, maxShardBytes, progress);
    }

    /**
     * As {@link #write(Path, LlamaConfig, long, Path, long, Progress)} with matrices drawn from
     * N(0, weightStd). Tests use a larger spread than Hugging Face's 0.02 so that attention is
     * sharp and every part of the forward pass moves the logits.
     */
    public static void write(
            Path out, LlamaConfig config, long seed, double weightStd, Path tokenizerJson, long maxShardBytes,
            Progress progress) {
        write(out, config, seed, weightStd, SyntheticWeights.RANDOM, tokenizerJson, maxShardBytes, progress);
    }

    /**
     * As {@link #write(Path, LlamaConfig, long, double, Path, long, Progress)} with matrices drawn as
     * {@code weights} says, around {@code weightStd}.
     */
    public static void write(
            Path out, LlamaConfig config, long seed, double weightStd, SyntheticWeights weights, Path tokenizerJson,
            long maxShardBytes, Progress progress) {
        if (Files.exists(out)) {
            throw new CheckpointException(out + " already exists: choose a new directory or remove it first");
        }
        if (tokenizerJson != null && !Files.isRegularFile(tokenizerJson)) {
            throw new CheckpointException("Tokenizer file " + tokenizerJson + " does not exist");
        }
        Path parent = out.toAbsolutePath().getParent();
        Path tmp;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + out.getFileName() + ".tmp-");
        } catch (IOException e) {
            throw new CheckpointException("Cannot create a directory next to " + out + ": " + e.getMessage(), e);
        }
        try {
            writeWeights(tmp, config, seed, weightStd, weights, maxShardBytes, progress);
            Files.writeString(tmp.resolve(LlamaConfig.FILE_NAME), config.toJson(), StandardCharsets.UTF_8);
            Files.writeString(tmp.resolve("generation_config.json"), generationConfig(config), StandardCharsets.UTF_8);
            if (tokenizerJson != null) {
                Files.copy(tokenizerJson, tmp.resolve("tokenizer.json"));
                // Meta's tokenizer_config.json (with its chat template) when it sits beside the
                // tokenizer, as scripts/fetch-tokenizer.sh leaves it; else the essentials.
                Path tokenizerConfig = tokenizerJson.resolveSibling("tokenizer_config.json");
                if (Files.isRegularFile(tokenizerConfig)) {
                    Files.copy(tokenizerConfig, tmp.resolve("tokenizer_config.json"));
                } else {
                    // Llama 2's control tokens for a Llama 2 tokenizer; no chat_template, so the family's default format.
                    boolean llama2 = dev.woq.tokenizer.Tokenizers.family(tokenizerJson) == dev.woq.tokenizer.TokenizerFamily.LLAMA2;
                    Files.writeString(tmp.resolve("tokenizer_config.json"),
                            llama2 ? TOKENIZER_CONFIG.replace("<|begin_of_text|>", "<s>").replace("<|eot_id|>", "</s>")
                                    : TOKENIZER_CONFIG, StandardCharsets.UTF_8);
                }
            }
            makeReadable(tmp);
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                throw new CheckpointException("Cannot move the finished checkpoint to " + out + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            Trees.deleteQuietly(tmp);
            throw new CheckpointException("Writing " + out + " failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            Trees.deleteQuietly(tmp);
            throw e;
        }
    }

    private static void writeWeights(Path dir, LlamaConfig config, long seed, double weightStd,
            SyntheticWeights kind, long maxShardBytes, Progress progress)
            throws IOException {
        List<TensorDeclaration> declarations = new ArrayList<>();
        for (LlamaWeights.Entry e : LlamaWeights.entries(config)) {
            declarations.add(TensorDeclaration.of(e.name(), SafetensorsDtype.BF16, e.shape()));
        }
        long total = declarations.stream().mapToLong(TensorDeclaration::byteLength).sum();
        RandomBf16 weights = new RandomBf16(seed, 0.0, weightStd);
        RandomBf16 norms = new RandomBf16(seed + 1, 1.0, 0.1);
        LlmLikeBf16 llmLike = kind.llmLikeMatrices() ? new LlmLikeBf16(seed) : null;
        int[] loud = kind == SyntheticWeights.LLM_LIKE_OUTLIERS
                ? SyntheticWeights.outlierChannels(config.hiddenSize(), seed) : new int[0];
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long done = 0;
        try (ShardedCheckpointWriter writer = new ShardedCheckpointWriter(dir, declarations, maxShardBytes)) {
            for (int t = 0; t < declarations.size(); t++) {
                TensorDeclaration d = declarations.get(t);
                RandomBf16 source = d.shape().size() == 1 ? norms : weights;
                LlmLikeBf16.Matrix matrix = llmLike != null && d.shape().size() == 2
                        ? llmLike.matrix(t, Math.toIntExact(d.shape().get(1)), weightStd) : null;
                long remaining = d.byteLength();
                long block = 0;
                while (remaining > 0) {
                    int n = (int) Math.min(CHUNK_BYTES, remaining);
                    chunk.clear().limit(n);
                    if (matrix != null) {
                        llmLike.fill(chunk, matrix, (d.byteLength() - remaining) / 2);
                    } else {
                        source.fill(chunk, t, block);
                        if (d.shape().size() == 1 && loud.length > 0) {
                            // A norm is [hidden], well under one chunk.
                            for (int c : loud) {
                                short v = chunk.getShort(2 * c);
                                chunk.putShort(2 * c, WeightCodec.toBf16(
                                        WeightCodec.bf16ToFloat(v) * SyntheticWeights.OUTLIER_NORM_GAIN));
                            }
                        }
                    }
                    block += (n / 2 + RandomBf16.BLOCK_VALUES - 1) / RandomBf16.BLOCK_VALUES;
                    writer.writeTensor(d.name(), chunk);
                    remaining -= n;
                    done += n;
                    progress.update(done, total);
                }
            }
            writer.commit();
        }
    }

    private static String generationConfig(LlamaConfig config) {
        // Meta-Llama-3-8B-Instruct's: sampling defaults and both end tokens.
        return "{\n  \"bos_token_id\": " + config.bosTokenId() + ",\n"
                + "  \"do_sample\": true,\n"
                + "  \"eos_token_id\": [128001, 128009],\n"
                + "  \"max_length\": 4096,\n"
                + "  \"temperature\": 0.6,\n"
                + "  \"top_p\": 0.9,\n"
                + "  \"transformers_version\": \"4.40.0\"\n}\n";
    }

    private static final String TOKENIZER_CONFIG =
            "{\n  \"bos_token\": \"<|begin_of_text|>\",\n"
                    + "  \"eos_token\": \"<|eot_id|>\",\n"
                    + "  \"clean_up_tokenization_spaces\": true,\n"
                    + "  \"model_input_names\": [\"input_ids\", \"attention_mask\"],\n"
                    + "  \"model_max_length\": 1000000000000000019884624838656,\n"
                    + "  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n}\n";

    /** Temporary directories are created owner-only; a checkpoint is for every local user to read. */
    private static void makeReadable(Path dir) throws IOException {
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its defaults apply
        }
    }
}
