package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.safetensors.TensorInfo;

/**
 * A weight-only int4 projection: 4-bit codes in groups of {@code groupSize} along the input, each
 * group with a bf16 scale and zero ({@code w = (q - 8) * scale + zero}), computed by libtorch's
 * fused {@code _weight_int4pack_mm_for_cpu} with bf16 activations. The checkpoint stores portable
 * nibbles; they are rearranged into this CPU's kernel layout at load ({@link Int4CpuPacking}).
 * int4-q32 runs here too where woq's kernels do not, its codes expanded into bf16 scales and zeros
 * in groups of 32 ({@link Int4Q32Expansion}).
 */
public final class Int4Linear extends Projection {
    /**
     * Rows repacked per kernel step: a multiple of the AVX-512 layout's 64-row block (blocks pack
     * independently), large enough to keep the loop's per-step overhead small, small enough that
     * the int32 temporary stays at 16 MB for K = 4096.
     */
    static final int REPACK_ROWS = 1024;
    private final PtNDArray packed; // CPU-specific layout
    private final PtNDArray scalesAndZeros; // [K/g, N, 2] bf16
    private final int groupSize;
    private final WeightFormat stored; // what the checkpoint holds: int4-g<groupSize>, or int4-q32 expanded

    /**
     * @param nibbles where the checkpoint stores the codes: [out, in/2] uint8, low nibble = even
     *     input index; mapped only while repacking, so their pages do not stay in the process
     * @param scales where the checkpoint stores [out, in/groupSize] bf16 scales
     * @param zeros where it stores the zeros, same shape
     */
    public Int4Linear(
            TorchOps ops, PtNDManager manager, TensorInfo nibbles, TensorInfo scales, TensorInfo zeros,
            int groupSize, int out, int in) {
        this(ops, manager, repackWithLibtorch(ops, manager, nibbles, out, in), scales, zeros, groupSize, out, in);
    }

    /**
     * @param packed the codes already in this CPU's kernel layout, [out, in/2] uint8: packed by
     *     {@link Int4CpuPacking}, mapped from an {@link Int4PackCache}, or from
     *     {@link #repackWithLibtorch}
     */
    Int4Linear(
            TorchOps ops, PtNDManager manager, PtNDArray packed, TensorInfo scales, TensorInfo zeros,
            int groupSize, int out, int in) {
        this(ops, packed, scalesAndZeros(ops, manager, scales, zeros, out, in / groupSize), groupSize,
                new WeightFormat.Int4(groupSize), out, in);
    }

    /**
     * @param packed the codes in this CPU's kernel layout, as for the constructor above
     * @param scalesAndZeros [in/groupSize, out, 2] bf16: each group's scale and zero, in the
     *     layout libtorch's kernel takes (int4-q32's, expanded by {@link Int4Q32Expansion})
     * @param stored the format the checkpoint holds the projection in, which {@link #format} reports
     */
    Int4Linear(TorchOps ops, PtNDArray packed, PtNDArray scalesAndZeros, int groupSize, WeightFormat stored, int out,
            int in) {
        super(ops, out, in);
        this.packed = packed;
        this.scalesAndZeros = scalesAndZeros;
        this.groupSize = groupSize;
        this.stored = stored;
    }

    private static PtNDArray scalesAndZeros(TorchOps ops, PtNDManager manager, TensorInfo scales, TensorInfo zeros,
            int out, int groups) {
        requireEvenOffsets(scales, zeros);
        return ops.int4ScalesAndZerosFromFiles(manager,
                scales.file(), scales.file().toFile().length() / 2, scales.fileOffset() / 2,
                zeros.file(), zeros.file().toFile().length() / 2, zeros.fileOffset() / 2,
                out, groups);
    }

    /**
     * libtorch's {@code _weight_int4pack_mm_for_cpu} computes blocks of 64 output rows and a tail
     * of 16, 32 or 48; any other count fails inside the kernel at the first token ("Unsupported n
     * block size"), so it is refused here, at load, with the tensor's name.
     */
    static void requireLibtorchRows(String name, int out, String kernels) {
        if (out % 16 != 0) {
            throw new CheckpointException("'" + name + "' has " + out + " output rows; libtorch's int4 kernel (used"
                    + " here: " + kernels + ") takes multiples of 16 only. Run it where woq's own kernels run (a CPU"
                    + " with AVX-512 BF16, without WOQ_KERNELS=libtorch), or quantize this model to int8.");
        }
    }

    /** The kernels read bf16 scales and zeros as 2-byte elements of their mapped files. */
    static void requireEvenOffsets(TensorInfo scales, TensorInfo zeros) {
        if (scales.fileOffset() % 2 != 0 || zeros.fileOffset() % 2 != 0) {
            throw new CheckpointException("'" + scales.name() + "' and '" + zeros.name() + "' must start at even"
                    + " byte offsets, as woq quantize writes them: re-run woq quantize --force");
        }
    }

    /** libtorch's own conversion (an int32 copy of the codes): for a CPU whose layout woq does not know. */
    static PtNDArray repackWithLibtorch(TorchOps ops, PtNDManager manager, TensorInfo nibbles, int out, int in) {
        return ops.int4RepackFromFile(manager, nibbles.file(), nibbles.file().toFile().length(),
                nibbles.fileOffset(), out, in / 2, REPACK_ROWS);
    }

    @Override
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        return ops.linearInt4(scope, x, packed, groupSize, scalesAndZeros);
    }

    /**
     * Codes plus one bf16 scale and zero per group: what the kernel reads, the stored bytes for
     * int4 (int4-q32's codes are expanded to these at load, so its stored bytes are fewer).
     */
    @Override
    public long weightBytes() {
        return new WeightFormat.Int4(groupSize).storedBytes(out, in);
    }

    @Override
    public WeightFormat format() {
        return stored;
    }
}
