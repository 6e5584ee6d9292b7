package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.NativeOps;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.quant.Quantizer;
import java.util.List;
import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.util.Optional;

/**
 * Builds each projection from what the checkpoint holds for it: {@code P.weight} (bf16, F16 or
 * F32) gives a {@link Bf16Linear}; woq's quantized layout gives {@link Int4Linear}
 * ({@code P.qweight} U8 nibbles, {@code P.scales} and {@code P.zeros} bf16, the group size implied
 * by their width), {@link Int8Linear} ({@code P.qweight} I8, {@code P.scales} bf16 [out]) or
 * {@link Int8G32Linear} (the same with {@code P.scales} bf16 [out, in/32]). The layout
 * describes itself, so a checkpoint needs no side file to be loaded.
 *
 * <p>Where woq's native kernels run ({@link NativeKernels}), int4 goes to {@link Int4AmxLinear} on
 * a CPU with AMX, else to {@link Int4Avx512Linear}; int4-q32 ({@code P.scales} U8) to
 * {@link Int4Q32Avx512Linear}; int8 and bf16 use them inside their own blocks. Elsewhere every
 * format runs on libtorch's kernels, int4-q32 expanded to int4 in groups of 32 at load.
 */
public final class LinearLoader {
    /**
     * The AVX-512 kernels read codes 64 bytes at a time from the start of each row: codes mapped at
     * another offset (an entry written before woq aligned its tensors, a hand-made file) are copied
     * into aligned memory, since every load would straddle two cache lines (int4 decoded up to a
     * quarter slower so). woq quantize writes them aligned.
     */
    private static final int CODES_ALIGNMENT = Quantizer.TENSOR_ALIGNMENT;
    private final TorchOps ops;
    private final NativeKernels natives;
    private final PtNDManager manager;
    private final MappedWeights weights;
    private final ProjectionObserver observer;
    /** Created at the first int4 matrix; null when libtorch's layout is not one woq knows. */
    private Int4CpuPacking.Packer int4Packer;
    private Int4PackCache int4Cache;
    private boolean int4LayoutChecked;

    /** Loads projections of {@code weights} onto {@code natives}' kernels (or libtorch's: {@link NativeKernels#none()}). */
    public LinearLoader(TorchOps ops, NativeKernels natives, PtNDManager manager, MappedWeights weights) {
        this(ops, natives, manager, weights, null);
    }

    /** As above, every projection loaded showing its inputs to {@code observer} ({@code null}: none). */
    LinearLoader(TorchOps ops, NativeKernels natives, PtNDManager manager, MappedWeights weights,
            ProjectionObserver observer) {
        this.observer = observer;
        this.ops = ops;
        this.natives = natives;
        this.manager = manager;
        this.weights = weights;
    }

    /** The name the checkpoint stores the projection {@code weightName}'s codes (or bf16 weight) under. */
    static String storedName(MappedWeights weights, String weightName) {
        String q = WeightFormat.stem(weightName) + ".qweight";
        return weights.contains(q) ? q : weightName;
    }

    /** The projection stored for {@code weightName} ([out, in]) in whatever format the checkpoint holds it. */
    public Linear load(String weightName, int out, int in) {
        Linear linear = loadStored(weightName, out, in);
        return observer == null ? linear : new ObservedLinear(linear, weightName, observer);
    }

    private Linear loadStored(String weightName, int out, int in) {
        WeightFormat format = WeightFormat.stored(weights.checkpoint(), weightName, in);
        // Checks every stored tensor's dtype and shape against the format's layout, naming the one at fault.
        List<WeightFormat.StoredTensor> stored = format.storedTensors(weightName, out, in);
        if (format instanceof WeightFormat.Bf16) {
            return new Bf16Linear(ops, natives.ops(), weights.bf16(weightName, out, in), out, in);
        }
        if (format instanceof WeightFormat.Int8) {
            return new Int8Linear(ops, natives.ops(),
                    stored(stored.get(0), CODES_ALIGNMENT), stored(stored.get(1), 2), out, in);
        }
        if (format instanceof WeightFormat.Int8G32) {
            return int8G32(stored, out, in);
        }
        if (format instanceof WeightFormat.Int4Q32) {
            return loadInt4Q32(stored, out, in);
        }
        int groupSize = ((WeightFormat.Int4) format).groupSize();
        TensorInfo nibbles = checked(stored.get(0));
        TensorInfo scales = checked(stored.get(1));
        TensorInfo zeros = checked(stored.get(2));
        Optional<NativeOps> own = natives.ops();
        if (own.isPresent() && natives.amx() && Int4AmxLinear.fits(out, groupSize)) {
            return new Int4AmxLinear(ops, own.get(), manager, nibbles, scales, zeros, groupSize, out, in);
        }
        if (own.isPresent() && Int4Avx512Linear.fits(in, groupSize)) {
            return new Int4Avx512Linear(ops, own.get(), stored(stored.get(0), CODES_ALIGNMENT), stored(stored.get(1), 2),
                    stored(stored.get(2), 2), groupSize, out, in);
        }
        Int4Linear.requireLibtorchRows(nibbles.name(), out, natives.status());
        return new Int4Linear(ops, manager, int4Codes(nibbles.name(), nibbles, out, in), scales, zeros, groupSize, out, in);
    }

    /** int8-g32 on woq's kernels where they run, else dequantized to bf16 for libtorch's (see {@link Int8G32Linear}). */
    private Linear int8G32(List<WeightFormat.StoredTensor> stored, int out, int in) {
        WeightFormat.StoredTensor scales = stored.get(1);
        if (in % WeightFormat.Int8G32.GROUP_SIZE != 0) {
            TensorInfo info = weights.checkpoint().tensor(scales.name());
            throw new CheckpointException("Tensor '" + scales.name() + "' in " + info.file() + " holds int8-g32 scales, but "
                    + in + " inputs are not whole groups of " + WeightFormat.Int8G32.GROUP_SIZE
                    + ": the checkpoint does not belong to this config, or was not written by woq quantize.");
        }
        PtNDArray codes = stored(stored.get(0), CODES_ALIGNMENT);
        PtNDArray groupScales = stored(scales, 2);
        Optional<NativeOps> own = natives.ops();
        if (own.isPresent()) {
            return Int8G32Linear.onWoqKernels(ops, own.get(), codes, groupScales, out, in);
        }
        return Int8G32Linear.onLibtorch(ops, manager, codes, groupScales, out, in);
    }

    /**
     * int4-q32: on woq's AVX-512 kernel as mapped where it runs (never on the AMX kernel, which
     * takes bf16 scales only); elsewhere on libtorch's int4 kernel, the codes expanded at load into
     * bf16 scales and zeros in groups of 32, which rounds them (see {@link Int4Q32Expansion}).
     */
    private Linear loadInt4Q32(List<WeightFormat.StoredTensor> stored, int out, int in) {
        TensorInfo nibbles = checked(stored.get(0));
        checked(stored.get(1));
        checked(stored.get(2));
        TensorInfo maxInfo = checked(stored.get(3));
        PtNDArray scaleMax = stored(stored.get(3), 4);
        float max = scaleMax.toFloatArray()[0];
        if (!Float.isFinite(max) || max < 0) {
            throw new CheckpointException("Tensor '" + maxInfo.name() + "' in " + maxInfo.file() + " is " + max
                    + ": int4-q32's largest scale must be a finite number >= 0. Re-run woq quantize --force.");
        }
        Optional<NativeOps> own = natives.ops();
        if (own.isPresent() && Int4Q32Avx512Linear.fits(in)) {
            return new Int4Q32Avx512Linear(ops, own.get(), stored(stored.get(0), CODES_ALIGNMENT), stored(stored.get(1), 1),
                    stored(stored.get(2), 1), scaleMax, out, in);
        }
        Int4Linear.requireLibtorchRows(nibbles.name(), out, natives.status());
        int groups = in / WeightFormat.Int4Q32.GROUP_SIZE;
        PtNDArray scalesAndZeros;
        try (PtNDArray scaleCodes = stored(stored.get(1), 1); PtNDArray zeroCodes = stored(stored.get(2), 1)) {
            scalesAndZeros = Int4Q32Expansion.scalesAndZeros(ops, manager, scaleCodes.toByteArray(),
                    zeroCodes.toByteArray(), max, out, groups);
        }
        return new Int4Linear(ops, int4Codes(nibbles.name(), nibbles, out, in), scalesAndZeros,
                WeightFormat.Int4Q32.GROUP_SIZE, WeightFormat.INT4_Q32, out, in);
    }

    private TensorInfo checked(WeightFormat.StoredTensor t) {
        return weights.checked(t.name(), t.dtype(), t.shape());
    }

    private PtNDArray stored(WeightFormat.StoredTensor t, int alignment) {
        return weights.stored(t.name(), t.dtype(), alignment, t.shape());
    }

    /** An int4 matrix's codes in the kernel's layout: from the entry's cache, packed in Java, or by libtorch. */
    private PtNDArray int4Codes(String name, TensorInfo nibbles, int out, int in) {
        if (!int4LayoutChecked) {
            int4LayoutChecked = true;
            Optional<Int4CpuPacking.Layout> layout = Int4CpuPacking.detect(ops, manager);
            int4Packer = layout.map(Int4CpuPacking.Packer::new).orElse(null);
            int4Cache = layout.flatMap(l -> Int4PackCache.open(ops, manager, weights.checkpoint().directory(), l))
                    .orElse(null);
        }
        if (int4Packer == null) {
            return Int4Linear.repackWithLibtorch(ops, manager, nibbles, out, in);
        }
        Optional<PtNDArray> cached = int4Cache != null ? int4Cache.find(name, out, in) : Optional.empty();
        PtNDArray codes = cached.orElseGet(() -> int4Packer.pack(ops, manager, nibbles, out, in));
        if (int4Cache != null) {
            int4Cache.remember(name, codes, cached.isEmpty());
        }
        return codes;
    }

    /** After the last matrix: saves the int4 layout for the next load if this one had to build it. */
    public void finish() {
        if (int4Cache != null) {
            int4Cache.writeIfBuilt();
            int4Cache.close();
        }
    }

}
