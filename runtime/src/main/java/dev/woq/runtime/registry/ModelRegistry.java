package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Quantized models on disk, built once and reused: {@code <home>/registry/<model>/<recipe>/}, e.g.
 * {@code ~/.woq/registry/Meta-Llama-3-8B-Instruct/int4-q32/}.
 *
 * <p>An entry is complete exactly when its {@code manifest.json} exists, and nothing ever appears at
 * an entry's path without one: an entry is quantized into a hidden sibling
 * ({@code .<recipe>.tmp-<random>}), its manifest written last and every file fsync'd, then the
 * directory is renamed into place. A crash, Ctrl-C or full disk at any point leaves at most a hidden
 * temporary directory, which the next build of that entry deletes. Builds of one entry are
 * serialized across threads and processes by a lock file ({@code .<recipe>.lock}).
 */
public final class ModelRegistry {
    /** woq's version, DJL's and PyTorch's, recorded in every manifest. */
    public static final String DJL_VERSION = "0.35.1";
    public static final String PYTORCH_VERSION = "2.7.1";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");

    private final Path home;
    private final Path root;

    public ModelRegistry(Path home) {
        this.home = home.toAbsolutePath().normalize();
        this.root = this.home.resolve("registry");
    }

    /** The registry under {@code $WOQ_HOME}, or {@code ~/.woq} when it is unset. */
    public static ModelRegistry atDefaultHome() {
        return new ModelRegistry(defaultHome());
    }

    /** {@code $WOQ_HOME}, or {@code ~/.woq}. */
    public static Path defaultHome() {
        String env = System.getenv("WOQ_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".woq");
    }

    /** woq's home directory. */
    public Path home() {
        return home;
    }

    /** {@code home/registry}. */
    public Path root() {
        return root;
    }

    /** The entry directory's name for {@code recipe}: its id, plus {@code -bf16-lm-head} when lm_head is kept in bf16. */
    public static String entryName(QuantRecipe recipe) {
        return recipe.quantizeLmHead() ? recipe.id() : recipe.id() + "-bf16-lm-head";
    }

    /** Where the entry for {@code sourceDir} quantized by {@code recipe} lives (whether or not it exists). */
    public Path entryDir(Path sourceDir, QuantRecipe recipe) {
        return root.resolve(ModelNames.of(sourceDir)).resolve(entryName(recipe));
    }

    /**
     * The complete entry for {@code sourceDir} and {@code recipe}, quantizing it first unless one
     * exists already that was built from the same source (same fingerprint) with the same recipe.
     *
     * @param force quantize again even if a matching entry exists, replacing it
     * @param progress receives the quantizer's progress
     * @param log receives one-line notes: waiting for a lock, reusing, rebuilding and why
     */
    public Entry getOrCreate(Path sourceDir, QuantRecipe recipe, boolean force, Quantizer.Progress progress,
            Consumer<String> log) {
        if (!Files.isDirectory(sourceDir)) {
            throw new CheckpointException("Model directory " + sourceDir + " does not exist or is not a directory."
                    + " Pass the directory that holds config.json and *.safetensors.");
        }
        String model = ModelNames.of(sourceDir);
        String name = entryName(recipe);
        Path modelDir = root.resolve(model);
        Path finalDir = modelDir.resolve(name);
        if (!force && Files.isRegularFile(finalDir.resolve(Manifest.FILE_NAME))) {
            // A complete entry is only ever replaced by renames, so reusing one needs no lock: this
            // is what lets a read-only woq home (a shared, pre-built model store) serve its entries.
            Optional<Entry> reuse = reusable(finalDir, SourceFingerprint.of(sourceDir), recipe, why -> {});
            if (reuse.isPresent()) {
                return reuse.get();
            }
        }
        createDirectories(modelDir);
        Path lockFile = modelDir.resolve("." + name + ".lock");
        try (RegistryLock lock = RegistryLock.acquire(lockFile,
                () -> log.accept("waiting for another woq quantize of " + model + "/" + name + " (lock " + lockFile + ")"))) {
            String fingerprint = SourceFingerprint.of(sourceDir);
            if (Files.exists(finalDir, LinkOption.NOFOLLOW_LINKS)) {
                if (force) {
                    log.accept("--force: rebuilding " + finalDir);
                } else {
                    Optional<Entry> reuse = reusable(finalDir, fingerprint, recipe, log);
                    if (reuse.isPresent()) {
                        return reuse.get();
                    }
                }
            }
            EntryBuilder.deleteLeftovers(modelDir, name, log);
            return EntryBuilder.build(home, sourceDir, recipe, model, fingerprint, modelDir, finalDir, progress, log);
        }
    }

    private Optional<Entry> reusable(Path finalDir, String fingerprint, QuantRecipe recipe, Consumer<String> log) {
        Entry existing;
        try {
            existing = open(finalDir);
        } catch (WoqException e) {
            log.accept("rebuilding " + finalDir + ": " + e.getMessage());
            return Optional.empty();
        }
        if (!existing.manifest().recipe().equals(recipe.toJson())) {
            log.accept("rebuilding " + finalDir + ": it was quantized with " + existing.manifest().recipe()
                    + ", not " + recipe.toJson());
            return Optional.empty();
        }
        if (!existing.manifest().sourceFingerprint().equals(fingerprint)) {
            log.accept("rebuilding " + finalDir + ": the source checkpoint changed since it was quantized from "
                    + existing.manifest().sourcePath() + " (config, shard index or safetensors headers differ)");
            return Optional.empty();
        }
        return Optional.of(existing);
    }

    /** Every complete entry, by model then recipe. */
    public List<Entry> list() {
        List<Entry> entries = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return entries;
        }
        try (Stream<Path> models = Files.list(root)) {
            for (Path m : models.sorted().toList()) {
                if (!Files.isDirectory(m) || m.getFileName().toString().startsWith(".")) {
                    continue;
                }
                try (Stream<Path> recipes = Files.list(m)) {
                    for (Path r : recipes.sorted().toList()) {
                        if (!r.getFileName().toString().startsWith(".") && Files.isDirectory(r)
                                && Files.isRegularFile(r.resolve(Manifest.FILE_NAME))) {
                            try {
                                entries.add(readEntry(r));
                            } catch (WoqException e) {
                                // a damaged manifest: not listed; open() and rebuild report it
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot list the registry " + root + ": " + e.getMessage()
                    + ". Check its permissions.", e);
        }
        return entries;
    }

    /** The complete entry {@code model/recipe}, if there is one. */
    public Optional<Entry> find(String model, String recipe) {
        if (!NAME.matcher(model).matches() || !NAME.matcher(recipe).matches()) {
            return Optional.empty();
        }
        Path dir = root.resolve(model).resolve(recipe);
        if (!Files.isRegularFile(dir.resolve(Manifest.FILE_NAME))) {
            return Optional.empty();
        }
        return Optional.of(readEntry(dir));
    }

    /**
     * Deletes the entry {@code model/recipe}: first renamed out of sight (atomic), then deleted.
     *
     * @throws ConfigException if there is no such entry
     */
    public void remove(String model, String recipe) {
        if (!NAME.matcher(model).matches() || !NAME.matcher(recipe).matches()) {
            throw new ConfigException("'" + model + "/" + recipe + "' is not a registry entry name: expected MODEL/RECIPE"
                    + " as `woq registry list` shows them, e.g. Meta-Llama-3-8B-Instruct/int4-q32.");
        }
        Path modelDir = root.resolve(model);
        Path dir = modelDir.resolve(recipe);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new ConfigException("No registry entry " + model + "/" + recipe + " in " + root
                    + ". `woq registry list` shows the entries there.");
        }
        try (RegistryLock lock = RegistryLock.acquire(modelDir.resolve("." + recipe + ".lock"), () -> {})) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return; // removed meanwhile
            }
            Path old = modelDir.resolve("." + recipe + ".old-" + EntryBuilder.randomHex());
            try {
                Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
                Trees.fsyncDir(modelDir);
                Trees.delete(old);
            } catch (IOException e) {
                throw new CheckpointException("Cannot remove " + dir + ": " + e.getMessage() + ". Check its permissions.", e);
            }
        }
    }

    /**
     * A fast check before loading: {@code entryDir} has a manifest, every file it lists exists with
     * the size it records, and passes {@link EntryCheck#onLoad} (headers hashed; every tensor of a
     * file modified since the entry was written hashed).
     *
     * @throws CheckpointException naming the missing, truncated or corrupt file (and tensor), saying
     *     to re-run {@code woq quantize --force}
     */
    public Entry open(Path entryDir) {
        if (!Files.isRegularFile(entryDir.resolve(Manifest.FILE_NAME))) {
            throw new CheckpointException(entryDir + " is not a complete woq registry entry (no " + Manifest.FILE_NAME
                    + "): it was never finished or was damaged. Re-run `woq quantize --force` for this model.");
        }
        Entry entry = readEntry(entryDir);
        for (Manifest.FileInfo f : entry.manifest().files()) {
            Path p = entryDir.resolve(f.name());
            long size;
            try {
                size = Files.size(p);
            } catch (IOException e) {
                throw new CheckpointException(p + " is missing from the registry entry " + entryDir
                        + ". Re-run `woq quantize --force` for this model to rebuild it.", e);
            }
            if (size != f.bytes()) {
                throw new CheckpointException(p + " is " + size + " bytes but the registry manifest records " + f.bytes()
                        + (size < f.bytes() ? " (truncated)" : "") + ". Re-run `woq quantize --force` for this model"
                        + " to rebuild the entry.");
            }
        }
        EntryCheck.onLoad(entry);
        return entry;
    }

    /** Re-hashes every byte of {@code entry} against its manifest; reports the first difference. */
    public VerifyResult verify(Entry entry) {
        return EntryVerifier.verify(entry);
    }

    private Entry readEntry(Path dir) {
        Manifest m = Manifest.read(dir);
        QuantRecipe recipe;
        try {
            recipe = QuantRecipe.fromJson(m.recipe());
        } catch (WoqException e) {
            throw new CheckpointException(dir.resolve(Manifest.FILE_NAME) + ": " + e.getMessage(), e);
        }
        Path modelDir = dir.toAbsolutePath().normalize().getParent();
        String model = modelDir != null && modelDir.getFileName() != null ? modelDir.getFileName().toString() : m.model();
        return new Entry(dir.toAbsolutePath().normalize(), model, recipe, m, m.totalBytes());
    }

    private void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CheckpointException("Cannot create " + dir + ": " + e.getMessage()
                    + ". Check permissions, or set --woq-home / WOQ_HOME to a writable directory.", e);
        }
    }

    static String woqVersion() {
        String v = ModelRegistry.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

}
