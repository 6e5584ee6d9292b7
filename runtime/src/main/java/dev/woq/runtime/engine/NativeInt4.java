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
 * woq's own int4 kernel ({@code runtime/src/main/native/woq_int4_amx.cpp}): an AMX tile matmul,
 * 1.5x libtorch's fused int4 kernel on one token (JMH, 14336x4096) and 3.3x on 128, and about as
 * fast for 4 tokens as for 1. It is a native library in this jar, registered with the running libtorch as
 * the TorchScript operators {@code woq::int4_amx_pack} and {@code woq::int4_amx_mm}, and used
 * through {@code Int4AmxOps.ts}.
 *
 * <p>It is optional. Without AMX (a CPU before Sapphire Rapids, an ARM machine), without the
 * library, or with {@code WOQ_INT4_KERNEL=libtorch} (or {@code -Dwoq.int4.kernel=libtorch}),
 * int4 runs on libtorch's kernel, and {@link #status} says why.
 */
public final class NativeInt4 {
    static final String SOURCE = "Int4AmxOps.ts";
    static final String LIBRARY = "/dev/woq/runtime/native/linux-x86_64/libwoq_int4_amx.so";
    /** Selects the int4 kernel: {@code auto} (the default) or {@code libtorch}. */
    public static final String SETTING = "WOQ_INT4_KERNEL";

    /** The library's C functions (see the .cpp for their contracts). */
    interface Lib extends Library {
        int woq_amx_supported();

        int woq_set_threads(int threads);

        int woq_register_ops();
    }

    private final Kernels kernels; // null when not available
    private final Lib lib;
    private final String status;

    private NativeInt4(Kernels kernels, Lib lib, String status) {
        this.kernels = kernels;
        this.lib = lib;
        this.status = status;
    }

    /** Loads and registers the kernel if this machine and the settings allow; never fails. */
    static NativeInt4 load(PtNDManager manager, int threads) {
        String setting = setting();
        if (setting.equals("libtorch")) {
            return unavailable("libtorch (" + SETTING + "=libtorch)");
        }
        if (!setting.equals("auto")) {
            throw new WoqException(SETTING + "=" + setting + " is not a kernel woq knows: use auto or libtorch");
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return unavailable("libtorch (woq's AMX kernel is built for x86-64 Linux, this is " + os + " " + arch + ")");
        }
        Path file;
        try (InputStream in = NativeInt4.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                return unavailable("libtorch (this build has no native int4 kernel: it needs g++ at build time)");
            }
            file = TorchRuntime.tempFile("libwoq_int4_amx-", ".so");
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            return unavailable("libtorch (cannot extract the native int4 kernel: " + e.getMessage() + ")");
        }
        Lib lib;
        try {
            lib = Native.load(file.toString(), Lib.class);
        } catch (UnsatisfiedLinkError e) {
            return unavailable("libtorch (the native int4 kernel does not load: " + e.getMessage() + ")");
        }
        if (lib.woq_amx_supported() != 1) {
            return unavailable("libtorch (this CPU or kernel has no AMX-BF16 tiles)");
        }
        int rc = lib.woq_register_ops();
        if (rc != 0) {
            return unavailable("libtorch (registering woq's int4 operators with libtorch failed: code " + rc + ")");
        }
        lib.woq_set_threads(threads);
        return new NativeInt4(Kernels.load(manager, "Int4AmxOps", SOURCE), lib, "woq AMX");
    }

    private static NativeInt4 unavailable(String status) {
        return new NativeInt4(null, null, status);
    }

    private static String setting() {
        String value = System.getProperty("woq.int4.kernel");
        if (value == null || value.isBlank()) {
            value = System.getenv(SETTING);
        }
        return value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
    }

    /** The kernel library's TorchScript methods ({@code pack}, {@code linear}), if this process runs it. */
    public Optional<Kernels> kernels() {
        return Optional.ofNullable(kernels);
    }

    /** Which int4 kernel runs, and if libtorch's, why. */
    public String status() {
        return status;
    }

    void setThreads(int threads) {
        if (lib != null) {
            lib.woq_set_threads(threads);
        }
    }
}
