package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.safetensors.SafetensorsFile;
import dev.woq.runtime.safetensors.TensorInfo;
import dev.woq.runtime.util.Trees;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Quantized models on disk, built once and reused: {@code <home>/registry/<model>/<recipe>/}, e.g.
 * {@code ~/.woq/registry/Meta-Llama-3-8B-Instruct/int4-g128/}.
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
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int HASH_CHUNK = 8 << 20;

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
            deleteLeftovers(modelDir, name, log);
            return build(sourceDir, recipe, model, fingerprint, modelDir, finalDir, progress, log);
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

    /** Temporary and replaced directories of this entry left by a crashed or killed run; we hold the lock. */
    private static void deleteLeftovers(Path modelDir, String name, Consumer<String> log) {
        String tmpPrefix = "." + name + ".tmp-";
        String oldPrefix = "." + name + ".old-";
        try (Stream<Path> list = Files.list(modelDir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String f = p.getFileName().toString();
                if (f.startsWith(tmpPrefix) || f.startsWith(oldPrefix)) {
                    log.accept("deleting " + p + ", left by an interrupted woq quantize");
                    Trees.delete(p);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot clean up " + modelDir + ": " + e.getMessage()
                    + ". Check its permissions, or delete the hidden ." + name + ".tmp-* directories yourself.", e);
        }
    }

    private Entry build(Path sourceDir, QuantRecipe recipe, String model, String fingerprint, Path modelDir,
            Path finalDir, Quantizer.Progress progress, Consumer<String> log) {
        String name = finalDir.getFileName().toString();
        Path tmp = modelDir.resolve("." + name + ".tmp-" + randomHex());
        createDirectory(tmp);
        boolean published = false;
        try (TempDirGuard guard = new TempDirGuard(tmp)) {
            long start = System.nanoTime();
            Quantizer.Report report = Quantizer.quantize(sourceDir, tmp, recipe, progress);
            double seconds = (System.nanoTime() - start) / 1e9;
            Manifest manifest = describe(tmp, model, recipe, sourceDir, fingerprint, seconds, report.tensorSha256());
            try {
                writeAndSync(tmp.resolve(Manifest.FILE_NAME), manifest.toJsonString().getBytes(StandardCharsets.UTF_8));
                Trees.fsyncFilesAndDir(tmp);
            } catch (IOException e) {
                throw new CheckpointException("Cannot write the registry entry in " + tmp + ": " + e.getMessage()
                        + ". Check free disk space and permissions under " + home + ".", e);
            }
            guard.beginPublish();
            publish(tmp, finalDir, modelDir);
            published = true;
            return new Entry(finalDir, model, recipe, manifest, manifest.totalBytes());
        } finally {
            if (!published) {
                Trees.deleteQuietly(tmp);
            }
        }
    }

    /** Renames the complete {@code tmp} to {@code finalDir}, replacing what is there in two atomic renames. */
    private static void publish(Path tmp, Path finalDir, Path modelDir) {
        Path old = null;
        try {
            if (Files.exists(finalDir, LinkOption.NOFOLLOW_LINKS)) {
                old = modelDir.resolve("." + finalDir.getFileName() + ".old-" + randomHex());
                Files.move(finalDir, old, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.move(tmp, finalDir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (old != null) {
                    try {
                        Files.move(old, finalDir, StandardCopyOption.ATOMIC_MOVE);
                        old = null;
                    } catch (IOException ignored) {
                        // the old entry stays in its hidden .old- directory; the next build deletes it
                    }
                }
                throw e;
            }
            Trees.fsyncDir(modelDir);
        } catch (AtomicMoveNotSupportedException e) {
            throw new CheckpointException("Cannot rename " + tmp + " to " + finalDir + " atomically (" + e.getMessage()
                    + "): the woq home must be on a local file system. Set --woq-home or WOQ_HOME.", e);
        } catch (IOException e) {
            throw new CheckpointException("Cannot move the new registry entry " + tmp + " to " + finalDir + ": "
                    + e.getMessage() + ". Check permissions under " + modelDir + ".", e);
        }
        if (old != null) {
            Trees.deleteQuietly(old);
        }
    }

    /**
     * Describes what the quantizer wrote into {@code dir}: tensor hashes as the quantizer computed
     * them while writing, headers and small files hashed here (kilobytes).
     */
    private static Manifest describe(Path dir, String model, QuantRecipe recipe, Path sourceDir, String fingerprint,
            double seconds, Map<String, String> tensorSha256) {
        List<Manifest.FileInfo> files = new ArrayList<>();
        List<Manifest.Tensor> tensors = new ArrayList<>();
        try {
            List<Path> all;
            try (Stream<Path> list = Files.list(dir)) {
                all = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .filter(p -> !p.getFileName().toString().equals(Manifest.FILE_NAME))
                        .sorted()
                        .toList();
            }
            for (Path p : all) {
                String fileName = p.getFileName().toString();
                long size = Files.size(p);
                if (fileName.endsWith(".safetensors")) {
                    SafetensorsFile st = SafetensorsFile.open(p);
                    String headerSha = hex(sha256().digest(SourceFingerprint.header(p, size)));
                    files.add(new Manifest.FileInfo(fileName, size, null, headerSha, EntryCheck.modified(p)));
                    for (TensorInfo t : st.tensors()) {
                        String sha = tensorSha256.get(t.name());
                        if (sha == null) {
                            throw new IllegalStateException("the quantizer reported no hash for '" + t.name() + "'");
                        }
                        tensors.add(new Manifest.Tensor(t.name(), t.dtype().name(), t.shape(), fileName,
                                t.fileOffset(), t.byteLength(), sha));
                    }
                } else {
                    files.add(new Manifest.FileInfo(fileName, size, hashFile(p), null, EntryCheck.modified(p)));
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot read back the quantized files in " + dir + ": " + e.getMessage()
                    + ". Check free disk space and permissions under " + dir.getParent() + ".", e);
        }
        Map<String, String> versions = new LinkedHashMap<>();
        versions.put("woq", woqVersion());
        versions.put("djl", DJL_VERSION);
        versions.put("pytorch", PYTORCH_VERSION);
        return new Manifest(Manifest.FORMAT_VERSION, model, recipe.toJson(),
                sourceDir.toAbsolutePath().normalize().toString(), fingerprint, tensors, files, versions,
                Instant.now().truncatedTo(ChronoUnit.MILLIS), Math.round(seconds * 1000) / 1000.0);
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
                    + " as `woq registry list` shows them, e.g. Meta-Llama-3-8B-Instruct/int4-g128.");
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
            Path old = modelDir.resolve("." + recipe + ".old-" + randomHex());
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
        Path dir = entry.dir();
        Manifest m = entry.manifest();
        long tensorsChecked = 0;
        long bytesChecked = 0;
        for (Manifest.FileInfo f : m.files()) {
            Path p = dir.resolve(f.name());
            if (!Files.isRegularFile(p)) {
                return VerifyResult.failed(f.name(), null, p + " is missing. Re-run `woq quantize --force` to rebuild"
                        + " the entry.", tensorsChecked, bytesChecked);
            }
            try {
                long size = Files.size(p);
                if (size != f.bytes()) {
                    return VerifyResult.failed(f.name(), null, p + " is " + size + " bytes, the manifest records "
                            + f.bytes() + (size < f.bytes() ? " (truncated)" : "") + ". Re-run `woq quantize --force`"
                            + " to rebuild the entry.", tensorsChecked, bytesChecked);
                }
            } catch (IOException e) {
                return VerifyResult.failed(f.name(), null, "Cannot read " + p + ": " + e.getMessage(), tensorsChecked,
                        bytesChecked);
            }
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(HASH_CHUNK);
        for (Manifest.FileInfo f : m.files()) {
            Path p = dir.resolve(f.name());
            try {
                if (f.isSafetensors()) {
                    byte[] header = SourceFingerprint.header(p, f.bytes());
                    bytesChecked += header.length;
                    if (!hex(sha256().digest(header)).equals(f.headerSha256())) {
                        return VerifyResult.failed(f.name(), null, p + ": the safetensors header differs from the one"
                                + " recorded. Re-run `woq quantize --force` to rebuild the entry.", tensorsChecked,
                                bytesChecked);
                    }
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        for (Manifest.Tensor t : m.tensors()) {
                            if (!t.file().equals(f.name())) {
                                continue;
                            }
                            String sha = hashRange(ch, t.offset(), t.bytes(), buf);
                            tensorsChecked++;
                            bytesChecked += t.bytes();
                            if (!sha.equals(t.sha256())) {
                                return VerifyResult.failed(f.name(), t.name(), "tensor '" + t.name() + "' in " + p
                                        + " differs from the one written (SHA-256 " + sha + ", expected " + t.sha256()
                                        + "). The file is corrupt: re-run `woq quantize --force` to rebuild the entry.",
                                        tensorsChecked, bytesChecked);
                            }
                        }
                    }
                } else {
                    String sha = hashFile(p);
                    bytesChecked += f.bytes();
                    if (!sha.equals(f.sha256())) {
                        return VerifyResult.failed(f.name(), null, p + " differs from the file written (SHA-256 " + sha
                                + ", expected " + f.sha256() + "). Re-run `woq quantize --force` to rebuild the entry.",
                                tensorsChecked, bytesChecked);
                    }
                }
            } catch (IOException e) {
                return VerifyResult.failed(f.name(), null, "Cannot read " + p + ": " + e.getMessage()
                        + ". Re-run `woq quantize --force` to rebuild the entry.", tensorsChecked, bytesChecked);
            }
        }
        return VerifyResult.passed(tensorsChecked, bytesChecked);
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

    private static String hashRange(FileChannel ch, long offset, long length, ByteBuffer buf) throws IOException {
        MessageDigest sha = sha256();
        long at = offset;
        long end = offset + length;
        while (at < end) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), end - at));
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + at + " (expected data up to byte " + end + ")");
            }
            buf.flip();
            sha.update(buf);
            at += n;
        }
        return hex(sha.digest());
    }

    private static String hashFile(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return hashRange(ch, 0, ch.size(), ByteBuffer.allocateDirect(1 << 20));
        }
    }

    private static void writeAndSync(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CheckpointException("Cannot create " + dir + ": " + e.getMessage()
                    + ". Check permissions, or set --woq-home / WOQ_HOME to a writable directory.", e);
        }
    }

    private void createDirectory(Path dir) {
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new CheckpointException("Cannot create " + dir + ": " + e.getMessage()
                    + ". Check free disk space and permissions under " + home + ".", e);
        }
    }

    static String woqVersion() {
        String v = ModelRegistry.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    private static String randomHex() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    /**
     * Deletes the temporary directory if the JVM shuts down (Ctrl-C) while it is being built, and
     * makes sure that the deletion and the publishing rename never interleave.
     */
    private static final class TempDirGuard implements AutoCloseable {
        private final Path tmp;
        private final Thread hook;
        private boolean publishing;
        private boolean aborted;

        TempDirGuard(Path tmp) {
            this.tmp = tmp;
            this.hook = new Thread(this::onShutdown, "woq-registry-cleanup");
            try {
                Runtime.getRuntime().addShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the finally block of the build cleans up
            }
        }

        private void onShutdown() {
            synchronized (this) {
                if (publishing) {
                    return;
                }
                aborted = true;
            }
            Trees.deleteQuietly(tmp);
        }

        synchronized void beginPublish() {
            if (aborted) {
                throw new WoqException("woq is shutting down: the registry entry was not finished");
            }
            publishing = true;
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down
            }
        }
    }
}
