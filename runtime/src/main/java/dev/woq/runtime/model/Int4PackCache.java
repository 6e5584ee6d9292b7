package dev.woq.runtime.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The int4 weights of a registry entry in this CPU's kernel layout, kept in the entry
 * ({@code cpu-cache/int4-KEY/model.safetensors}) so that later loads map them, as int8 does,
 * instead of rearranging 4 GB of nibbles. The entry's portable weights stay the truth: the cache is
 * keyed by the entry's manifest, the engine version and the packing layout, written atomically
 * after a load that built the layout, and any cache that does not open, or lacks a tensor of the
 * right shape, is ignored and rebuilt. Only registry entries (a {@code manifest.json} beside the
 * weights) get one.
 */
final class Int4PackCache implements AutoCloseable {
    static final String DIR = "cpu-cache";
    private final Path file;
    private final MappedWeights mapped; // null when there is no usable cache
    private final Map<String, PtNDArray> packed = new LinkedHashMap<>();
    private boolean anyBuilt;

    private Int4PackCache(Path file, MappedWeights mapped) {
        this.file = file;
        this.mapped = mapped;
    }

    /** The cache of {@code modelDir} for {@code layout}, or empty if the directory is not a registry entry. */
    static Optional<Int4PackCache> open(TorchOps ops, PtNDManager manager, Path modelDir, Int4CpuPacking.Layout layout) {
        Path manifest = modelDir.resolve("manifest.json");
        if (!Files.isRegularFile(manifest)) {
            return Optional.empty();
        }
        Path dir;
        try {
            dir = modelDir.resolve(DIR).resolve("int4-" + key(Files.readAllBytes(manifest), layout));
        } catch (IOException e) {
            return Optional.empty();
        }
        Path file = dir.resolve("model.safetensors");
        MappedWeights mapped = null;
        if (Files.isRegularFile(file)) {
            try {
                mapped = new MappedWeights(ops, manager, SafetensorsCheckpoint.open(dir));
            } catch (WoqException unreadable) {
                mapped = null; // truncated or damaged: rebuilt at the end of this load
            }
        }
        return Optional.of(new Int4PackCache(file, mapped));
    }

    private static String key(byte[] manifest, Int4CpuPacking.Layout layout) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(manifest);
            sha.update(("|" + Engine.getEngine("PyTorch").getVersion() + "|" + layout).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cached packed codes of {@code name} ([out, in/2] uint8), mapped; empty if not cached. */
    Optional<PtNDArray> find(String name, int out, int in) {
        if (mapped == null || !mapped.contains(name)) {
            return Optional.empty();
        }
        TensorInfo t = mapped.checkpoint().tensor(name);
        if (t.dtype() != SafetensorsDtype.U8 || !t.shape().equals(List.of((long) out, (long) in / 2))) {
            return Optional.empty();
        }
        return Optional.of(mapped.stored(name, SafetensorsDtype.U8, 64, out, in / 2));
    }

    /** Notes the packed codes of every matrix of this load, and whether they were packed now or mapped. */
    void remember(String name, PtNDArray codes, boolean builtNow) {
        packed.put(name, codes);
        anyBuilt |= builtNow;
    }

    /**
     * Writes every matrix's codes if any was packed in this load (a cache that served them all is
     * left as it is). A failure (a full disk, a read-only registry) costs only the next load's time, so
     * it is not an error.
     */
    void writeIfBuilt() {
        if (!anyBuilt) {
            return;
        }
        List<TensorDeclaration> tensors = new ArrayList<>();
        packed.forEach((name, t) -> tensors.add(TensorDeclaration.of(name, SafetensorsDtype.U8, t.getShape().getShape())));
        try {
            Files.createDirectories(file.getParent());
            try (SafetensorsWriter w = new SafetensorsWriter(file, tensors)) {
                packed.forEach((name, t) -> w.writeTensor(name, t.toByteBuffer()));
                w.commit();
            }
        } catch (IOException | WoqException e) {
            // The next load packs again.
        }
    }

    @Override
    public void close() {
        if (mapped != null) {
            mapped.close();
        }
    }
}
