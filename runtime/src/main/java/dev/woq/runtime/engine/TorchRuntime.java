package dev.woq.runtime.engine;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Starts DJL's PyTorch engine offline, sets its thread count and loads woq's kernel library.
 * One per process: libtorch's thread pool and the compiled kernels are process-wide.
 */
public final class TorchRuntime {
    private static TorchRuntime instance;

    private final Engine engine;
    private final PtNDManager manager;
    private final TorchOps ops;
    private final NativeKernels natives;
    private volatile int threads;

    private TorchRuntime(int threads) {
        // Nothing may be downloaded at run time: the pinned native artifacts are on the classpath.
        System.setProperty("ai.djl.offline", "true");
        // DJL otherwise reports usage to a remote service when it starts.
        System.setProperty("OPT_OUT_TRACKING", "true");
        this.engine = Engine.getEngine("PyTorch");
        JniUtils.setGradMode(false);
        // The kernels are straight-line calls into ATen: TorchScript's profiling executor would only
        // re-specialize them for every new sequence length.
        JniUtils.setGraphExecutorOptimize(false);
        JniUtils.setNumInteropThreads(1);
        JniUtils.setNumThreads(threads);
        this.threads = threads;
        this.manager = (PtNDManager) engine.newBaseManager();
        this.ops = new TorchOps(Kernels.load(manager));
        this.natives = NativeKernels.load(manager, threads);
    }

    /**
     * Returns the process's runtime, starting it with {@code threads} intra-op threads on first
     * use. A later call with another positive count changes the thread count.
     */
    public static synchronized TorchRuntime start(int threads) {
        if (threads < 1) {
            throw new WoqException("--threads must be at least 1, got " + threads);
        }
        if (instance == null) {
            instance = new TorchRuntime(threads);
        } else if (instance.threads != threads) {
            JniUtils.setNumThreads(threads);
            instance.natives.setThreads(threads);
            instance.threads = threads;
        }
        return instance;
    }

    /** The process's runtime as it was started, or started now with one thread per physical core. */
    public static synchronized TorchRuntime current() {
        return instance != null ? instance : start();
    }

    /** Starts with one thread per physical core. */
    public static TorchRuntime start() {
        return start(CpuInfo.physicalCores());
    }

    /** libtorch's operations, typed: what the model blocks call. */
    public TorchOps ops() {
        return ops;
    }

    /** woq's own matmul kernels, and whether this process runs them. */
    public NativeKernels natives() {
        return natives;
    }

    /** The long-lived manager; models open sub-managers of it. */
    public PtNDManager manager() {
        return manager;
    }

    public int threads() {
        return threads;
    }

    public String engineVersion() {
        return engine.getEngineName() + " " + engine.getVersion();
    }

    /** One line that answers "why is it slow?": engine, CPU features, threads. */
    public String describe() {
        String isa = System.getenv("ONEDNN_MAX_CPU_ISA");
        return String.format(
                Locale.ROOT,
                "%s (DJL %s), CPU: %s, threads: %d, kernels: %s%s",
                engineVersion(),
                Engine.getDjlVersion(),
                CpuInfo.describe(),
                threads,
                natives.status(),
                isa == null || isa.isBlank() ? "" : ", oneDNN ISA capped at " + isa);
    }

    static String resource(String name) {
        try (var in = TorchRuntime.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + name, e);
        }
    }

    static Path tempFile(String prefix, String suffix) {
        try {
            Path p = Files.createTempFile(prefix, suffix);
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new WoqException("cannot create a temporary file in " + System.getProperty("java.io.tmpdir") + ": " + e.getMessage(), e);
        }
    }
}
