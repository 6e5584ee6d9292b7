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
 *       int4 on CPUs with AMX, where tiles make prompts and batches cheap;
 *   <li>{@code woq::rms_norm}, {@code woq::silu_mul}, {@code woq::attention_decode}
 *       ({@code woq_layer_ops.cpp}): what a layer computes between its projections, one call each
 *       where libtorch runs a few dozen small operators a layer.
 * </ul>
 *
 * <p>They are optional. Without AVX-512 BF16 (an older x86 CPU, an ARM machine), without the
 * library, or with {@code WOQ_KERNELS=libtorch} (or {@code -Dwoq.kernels=libtorch}), every format
 * runs on libtorch's kernels, and {@link #status} says why.
 *
 * <p>int4 multiplies its codes with each token's inputs rounded to int8 per block of 32
 * ({@link Int4Activations#INT8}, llama.cpp's arithmetic for its 4-bit formats) on a CPU with AVX-512
 * VNNI, and with the inputs in bf16 ({@link Int4Activations#BF16}) elsewhere or when
 * {@code WOQ_INT4_ACTIVATIONS=bf16} (or {@code -Dwoq.int4.activations=bf16}) asks for it.
 */
public final class NativeKernels {
    static final String SOURCE = "NativeOps.ts";
    static final String LIBRARY = "/dev/woq/runtime/native/linux-x86_64/libwoq_kernels.so";
    /** Selects the kernels: {@code auto} (the default) or {@code libtorch}. */
    public static final String SETTING = "WOQ_KERNELS";
    static final String PROPERTY = "woq.kernels";
    /** Selects the inputs int4's codes multiply: {@code int8} (the default where the CPU has VNNI) or {@code bf16}. */
    public static final String INT4_ACTIVATIONS_SETTING = "WOQ_INT4_ACTIVATIONS";
    static final String INT4_ACTIVATIONS_PROPERTY = "woq.int4.activations";

    /** What the native int4 kernels multiply the 4-bit codes with, for prompts and decoding alike. */
    public enum Int4Activations {
        /** The inputs as they are (bf16), the codes as exact bf16 numbers: the int4 weights' products, exactly. */
        BF16(0, "bf16"),
        /**
         * Each token's inputs rounded to int8 per block of 32 (as llama.cpp's Q8_0) and multiplied
         * with the codes by VPDPBUSD, 64 multiply-adds an instruction where VDPBF16PS does 32:
         * prompts about 1.5x faster than on bf16 inputs (benchmarks/RESULTS.md), batched decoding
         * faster too. The rounding (about 0.5% of each block's largest input) leaves the KL
         * divergence to the bf16 model where it was. Needs AVX-512 VNNI.
         */
        INT8(1, "int8");

        private final int code;
        private final String setting;

        Int4Activations(int code, String setting) {
            this.code = code;
            this.setting = setting;
        }

        /** The value of {@value #INT4_ACTIVATIONS_SETTING} that selects it. */
        public String setting() {
            return setting;
        }
    }

    /** The library's C functions (see woq_native.h and the .cpp files for their contracts). */
    interface Lib extends Library {
        int woq_avx512_supported();

        int woq_amx_supported();

        int woq_set_threads(int threads);

        int woq_vnni_supported();

        int woq_set_int4_activations(int activations);

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

    /** The int4 activations the settings ask for on a CPU with or without VNNI; fails on a bad setting. */
    static Int4Activations int4Activations(boolean vnni) {
        String value = setting(INT4_ACTIVATIONS_PROPERTY, INT4_ACTIVATIONS_SETTING,
                (vnni ? Int4Activations.INT8 : Int4Activations.BF16).setting);
        for (Int4Activations p : Int4Activations.values()) {
            if (p.setting.equals(value)) {
                if (p == Int4Activations.INT8 && !vnni) {
                    throw new WoqException(INT4_ACTIVATIONS_SETTING + "=int8 needs AVX-512 VNNI, which this CPU lacks: "
                            + "leave it unset or set it to bf16");
                }
                return p;
            }
        }
        throw new WoqException(INT4_ACTIVATIONS_SETTING + "=" + value + " is not a choice woq knows: use bf16 or int8");
    }

    /** Loads and registers the kernels if this machine and the settings allow; never fails but on a bad setting. */
    static NativeKernels load(PtNDManager manager, int threads) {
        String setting = setting(PROPERTY, SETTING, "auto");
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
        Int4Activations activations = int4Activations(lib.woq_vnni_supported() == 1);
        if (lib.woq_set_int4_activations(activations.code) < 0) {
            throw new IllegalStateException("libwoq_kernels refused int4 activations " + activations);
        }
        // with AMX, int4's bf16-scaled layouts run on its tiles; int4-q32 stays on the AVX-512 kernels
        String onInt8 = activations == Int4Activations.INT8 ? "int8 activations (VNNI)" : null;
        String int4 = amx ? (onInt8 == null ? "int4 on AMX" : "int4 on AMX, int4-q32 on " + onInt8)
                : onInt8 == null ? null : "int4 on " + onInt8;
        return new NativeKernels(new NativeOps(Kernels.load(manager, "NativeOps", SOURCE)), lib, amx,
                int4 == null ? "woq AVX-512 BF16" : "woq AVX-512 BF16, " + int4);
    }

    private static NativeKernels unavailable(String status) {
        return new NativeKernels(null, null, false, status);
    }

    private static String setting(String property, String variable, String otherwise) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            value = System.getenv(variable);
        }
        return value == null || value.isBlank() ? otherwise : value.trim().toLowerCase(Locale.ROOT);
    }

    /** woq's kernels, if this process runs them. */
    public Optional<NativeOps> ops() {
        return Optional.ofNullable(ops);
    }

    /** Whether int4 can run on int8 activations here (the kernels are loaded and the CPU has AVX-512 VNNI). */
    public boolean int8ActivationsAvailable() {
        return lib != null && lib.woq_vnni_supported() == 1;
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

    /**
     * Switches the process's int4 activations (every model in it: the choice is the native
     * library's), returning the one before; for comparisons and tests.
     *
     * @throws IllegalStateException without the native kernels, or for INT8 on a CPU without VNNI
     */
    public Int4Activations useInt4Activations(Int4Activations activations) {
        if (lib == null) {
            throw new IllegalStateException("no native kernels run here (" + status + ")");
        }
        int before = lib.woq_set_int4_activations(activations.code);
        if (before < 0) {
            throw new IllegalStateException("int4 on " + activations + " activations needs AVX-512 VNNI, which this CPU lacks");
        }
        for (Int4Activations p : Int4Activations.values()) {
            if (p.code == before) {
                return p;
            }
        }
        throw new IllegalStateException("libwoq_kernels reported int4 activations " + before + ", which woq does not know");
    }

    void setThreads(int threads) {
        if (lib != null) {
            lib.woq_set_threads(threads);
        }
    }
}
