package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.Kernels;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.util.Optional;

/**
 * Builds each projection from what the checkpoint holds for it: {@code P.weight} (bf16, F16 or
 * F32) gives a {@link Bf16Linear}; woq's quantized layout gives {@link Int4Linear}
 * ({@code P.qweight} U8 nibbles, {@code P.scales} and {@code P.zeros} bf16, the group size implied
 * by their width) or {@link Int8Linear} ({@code P.qweight} I8, {@code P.scales} bf16). The layout
 * describes itself, so a checkpoint needs no side file to be loaded.
 *
 * <p>Where woq's native kernels run ({@link NativeKernels}), int4 goes to {@link Int4AmxLinear} on
 * a CPU with AMX, else to {@link Int4Avx512Linear}; int8 and bf16 use them inside their own
 * blocks. Elsewhere every format runs on libtorch's kernels.
 */
final class LinearLoader {
    /** The int8 kernel's AVX-512 path reads rows with aligned loads. */
    private static final int INT8_ALIGNMENT = 64;
    private final Kernels kernels;
    private final NativeKernels natives;
    private final PtNDManager manager;
    private final MappedWeights weights;
    /** Created at the first int4 matrix; null when libtorch's layout is not one woq knows. */
    private Int4CpuPacking.Packer int4Packer;
    private Int4PackCache int4Cache;
    private boolean int4LayoutChecked;

    LinearLoader(Kernels kernels, NativeKernels natives, PtNDManager manager, MappedWeights weights) {
        this.kernels = kernels;
        this.natives = natives;
        this.manager = manager;
        this.weights = weights;
    }

    /** The name the checkpoint stores the projection {@code weightName} under. */
    static String storedName(MappedWeights weights, String weightName) {
        String q = base(weightName) + ".qweight";
        return weights.contains(q) ? q : weightName;
    }

    Linear load(String weightName, int out, int in) {
        String base = base(weightName);
        String q = base + ".qweight";
        if (!weights.contains(q)) {
            return new Bf16Linear(kernels, natives.kernels(), weights.bf16(weightName, out, in), out, in);
        }
        TensorInfo codes = weights.checkpoint().tensor(q);
        TensorInfo scales = weights.checkpoint().tensor(base + ".scales");
        if (codes.dtype() == SafetensorsDtype.I8) {
            return new Int8Linear(
                    kernels, natives.kernels(),
                    weights.stored(q, SafetensorsDtype.I8, INT8_ALIGNMENT, out, in),
                    weights.stored(base + ".scales", SafetensorsDtype.BF16, 2, out),
                    out, in);
        }
        if (codes.dtype() == SafetensorsDtype.U8) {
            long[] s = scales.shapeArray();
            if (s.length != 2 || s[1] < 1 || in % s[1] != 0) {
                throw new CheckpointException("Tensor '" + base + ".scales' in " + scales.file()
                        + " has shape " + java.util.Arrays.toString(s) + ", which gives no whole group size for "
                        + in + " inputs: re-run woq quantize --force");
            }
            int groups = (int) s[1];
            int groupSize = in / groups;
            TensorInfo groupScales = weights.checked(base + ".scales", SafetensorsDtype.BF16, out, groups);
            TensorInfo groupZeros = weights.checked(base + ".zeros", SafetensorsDtype.BF16, out, groups);
            Optional<Kernels> own = natives.kernels();
            if (own.isPresent() && natives.amx() && Int4AmxLinear.fits(out, groupSize)) {
                return new Int4AmxLinear(kernels, own.get(), manager,
                        weights.checked(q, SafetensorsDtype.U8, out, in / 2), groupScales, groupZeros, groupSize, out, in);
            }
            if (own.isPresent() && Int4Avx512Linear.fits(in, groupSize)) {
                return new Int4Avx512Linear(kernels, own.get(),
                        weights.stored(q, SafetensorsDtype.U8, 1, out, in / 2),
                        weights.stored(base + ".scales", SafetensorsDtype.BF16, 2, out, groups),
                        weights.stored(base + ".zeros", SafetensorsDtype.BF16, 2, out, groups),
                        groupSize, out, in);
            }
            Int4Linear.requireLibtorchRows(q, out, natives.status());
            return new Int4Linear(kernels, manager,
                    int4Codes(q, weights.checked(q, SafetensorsDtype.U8, out, in / 2), out, in),
                    groupScales, groupZeros, groupSize, out, in);
        }
        throw new CheckpointException("Tensor '" + q + "' in " + codes.file() + " is " + codes.dtype()
                + ": woq's quantized layouts store U8 (int4) or I8 (int8) codes");
    }

    /** An int4 matrix's codes in the kernel's layout: from the entry's cache, packed in Java, or by libtorch. */
    private PtNDArray int4Codes(String name, TensorInfo nibbles, int out, int in) {
        if (!int4LayoutChecked) {
            int4LayoutChecked = true;
            Optional<Int4CpuPacking.Layout> layout = Int4CpuPacking.detect(kernels, manager);
            int4Packer = layout.map(Int4CpuPacking.Packer::new).orElse(null);
            int4Cache = layout.flatMap(l -> Int4PackCache.open(kernels, manager, weights.checkpoint().directory(), l))
                    .orElse(null);
        }
        if (int4Packer == null) {
            return Int4Linear.repackWithLibtorch(kernels, manager, nibbles, out, in);
        }
        Optional<PtNDArray> cached = int4Cache != null ? int4Cache.find(name, out, in) : Optional.empty();
        PtNDArray codes = cached.orElseGet(() -> int4Packer.pack(kernels, manager, nibbles, out, in));
        if (int4Cache != null) {
            int4Cache.remember(name, codes, cached.isEmpty());
        }
        return codes;
    }

    /** After the last matrix: saves the int4 layout for the next load if this one had to build it. */
    void finish() {
        if (int4Cache != null) {
            int4Cache.writeIfBuilt();
            int4Cache.close();
        }
    }


    private static String base(String weightName) {
        return weightName.endsWith(".weight") ? weightName.substring(0, weightName.length() - ".weight".length()) : weightName;
    }
}
