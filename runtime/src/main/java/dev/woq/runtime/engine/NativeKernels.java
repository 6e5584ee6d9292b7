package dev.woq.runtime.engine;

import ai.djl.pytorch.engine.PtNDManager;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * woq's own matmul kernels ({@code runtime/src/main/native}), a native library in this jar,
 * registered with the running libtorch as TorchScript operators and called through
 * {@code NativeOps.ts}:
 * <ul>
 *   <li>{@code woq::int4_mm}, {@code woq::int4q32_mm}, {@code woq::int8_mm}, {@code woq::bf16_mm}
 *       (AVX-512 BF16, {@code woq_avx512.cpp}): every format on the weights as stored, nothing
 *       repacked, at the memory's speed where libtorch 2.7's kernels are bound by arithmetic or
 *       read at half the bandwidth;
 *   <li>{@code woq::int4_amx_pack}, {@code woq::int4_amx_mm} (AMX tiles, {@code woq_int4_amx.cpp}):
 *       int4 on CPUs with AMX, where tiles make prompts and batches cheap.
 * </ul>
 *
 * <p>They are optional. Without AVX-512 BF16 (an older x86 CPU, an ARM machine), without the
 * library, or with {@code WOQ_KERNELS=libtorch} (or {@code -Dwoq.kernels=libtorch}), every format
 * runs on libtorch's kernels, and {@link #status} says why.
 */
public final class NativeKernels {
    static final String SOURCE = "NativeOps.ts";
    static final String LIBRARY = "/dev/woq/runtime/native/linux-x86_64/libwoq_kernels.so";
    /** Selects the kernels: {@code auto} (the default) or {@code libtorch}. */
    public static final String SETTING = "WOQ_KERNELS";
    static final String PROPERTY = "woq.kernels";

    /** The library's C functions (see woq_native.h and the .cpp files for their contracts). */
    interface Lib extends Library {
        int woq_avx512_supported();

        int woq_amx_supported();

        int woq_set_threads(int threads);

        int woq_register_ops();
    }

    private static final NativeKernels NONE = new NativeKernels(null, null, false, "libtorch");

    private final NativeOps ops; // null when not available
    private final Lib lib;
    private final boolean amx;
    private final String status;

    private NativeKernels(NativeOps ops, Lib lib, boolean amx, String status) {
        this.ops = ops;
        this.lib = lib;
        this.amx = amx;
        this.status = status;
    }

    /** No native kernels: every format on libtorch's (for comparisons). */
    public static NativeKernels none() {
        return NONE;
    }

    /** Loads and registers the kernels if this machine and the settings allow; never fails but on a bad setting. */
    static NativeKernels load(PtNDManager manager, int threads) {
        String setting = setting();
        if (setting.equals("libtorch")) {
            return unavailable("libtorch (" + SETTING + "=libtorch)");
        }
        if (!setting.equals("auto")) {
            throw new WoqException(SETTING + "=" + setting + " is not a choice woq knows: use auto or libtorch");
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return unavailable("libtorch (woq's kernels are built for x86-64 Linux, this is " + os + " " + arch + ")");
        }
        Path file;
        try (InputStream in = NativeKernels.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                return unavailable("libtorch (this build has no native kernels: it needs g++ at build time)");
            }
            file = TorchRuntime.tempFile("libwoq_kernels-", ".so");
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            return unavailable("libtorch (cannot extract woq's native kernels: " + e.getMessage() + ")");
        }
        Lib lib;
        try {
            lib = Native.load(file.toString(), Lib.class);
        } catch (UnsatisfiedLinkError e) {
            return unavailable("libtorch (woq's native kernels do not load: " + e.getMessage() + ")");
        }
        if (lib.woq_avx512_supported() != 1) {
            return unavailable("libtorch (this CPU or OS has no AVX-512 BF16)");
        }
        int rc = lib.woq_register_ops();
        if (rc != 0) {
            return unavailable("libtorch (registering woq's operators with libtorch failed: code " + rc + ")");
        }
        lib.woq_set_threads(threads);
        boolean amx = lib.woq_amx_supported() == 1;
        return new NativeKernels(new NativeOps(Kernels.load(manager, "NativeOps", SOURCE)), lib, amx,
                amx ? "woq AVX-512 BF16, int4 on AMX" : "woq AVX-512 BF16");
    }

    private static NativeKernels unavailable(String status) {
        return new NativeKernels(null, null, false, status);
    }

    private static String setting() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            value = System.getenv(SETTING);
        }
        return value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
    }

    /** woq's kernels, if this process runs them. */
    public Optional<NativeOps> ops() {
        return Optional.ofNullable(ops);
    }

    /** Whether int4 runs on the AMX kernel (this CPU has AMX tiles and the kernels are loaded). */
    public boolean amx() {
        return amx;
    }

    /** The same kernels with int4 on the AVX-512 kernel even where AMX runs (to compare the two). */
    public NativeKernels withoutAmx() {
        return amx ? new NativeKernels(ops, lib, false, "woq AVX-512 BF16") : this;
    }

    /** Which kernels run, and if libtorch's, why. */
    public String status() {
        return status;
    }

    void setThreads(int threads) {
        if (lib != null) {
            lib.woq_set_threads(threads);
        }
    }
}
