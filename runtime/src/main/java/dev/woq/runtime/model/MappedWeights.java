package dev.woq.runtime.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.Kernels;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Tensors of a safetensors checkpoint as libtorch tensors. Each shard is mapped once per dtype
 * ({@code torch.from_file}, copy-on-write) and a tensor is a view of the mapping: no byte of a
 * bf16 weight passes through the Java heap, and the OS page cache backs the memory.
 * F16 and F32 tensors are converted to bf16 (a native copy).
 */
public final class MappedWeights implements AutoCloseable {
    private final Kernels kernels;
    private final PtNDManager manager;
    private final SafetensorsCheckpoint checkpoint;
    private final Map<String, PtNDArray> mappings = new HashMap<>();

    /**
     * @param manager owns the tensors handed out; they live as long as it does
     */
    public MappedWeights(Kernels kernels, PtNDManager manager, SafetensorsCheckpoint checkpoint) {
        this.kernels = kernels;
        this.manager = manager;
        this.checkpoint = checkpoint;
    }

    public SafetensorsCheckpoint checkpoint() {
        return checkpoint;
    }

    /** The tensor {@code name} as bf16, after checking that its shape is {@code shape}. */
    public PtNDArray bf16(String name, long... shape) {
        TensorInfo info = checkpoint.tensor(name);
        long[] actual = info.shapeArray();
        if (!Arrays.equals(actual, shape)) {
            throw new CheckpointException(
                    "Tensor '" + name + "' in " + info.file() + " has shape " + Arrays.toString(actual)
                            + " but config.json implies " + Arrays.toString(shape)
                            + ": the weights do not belong to this config.");
        }
        SafetensorsDtype dtype = info.dtype();
        PtNDArray tensor;
        switch (dtype) {
            case BF16:
                tensor = view(info, 15);
                break;
            case F16:
                tensor = kernels.call(manager, "to_dtype", view(info, 5), 15L);
                break;
            case F32:
                tensor = kernels.call(manager, "to_dtype", view(info, 6), 15L);
                break;
            default:
                throw new CheckpointException(
                        "Tensor '" + name + "' in " + info.file() + " is " + dtype
                                + ": woq loads BF16, F16 or F32 weights.");
        }
        return tensor;
    }

    /** Whether the checkpoint has a tensor of that name. */
    public boolean contains(String name) {
        return checkpoint.contains(name);
    }

    /**
     * The tensor {@code name} exactly as stored (no conversion), after checking its dtype and
     * shape: the quantized layouts' codes and scales. Data whose file offset is not a multiple of
     * {@code alignment} bytes is copied into fresh (64-byte aligned) memory, for kernels that
     * need aligned rows.
     */
    public PtNDArray stored(String name, SafetensorsDtype dtype, int alignment, long... shape) {
        TensorInfo info = checked(name, dtype, shape);
        PtNDArray view = view(info, torchCode(dtype));
        if (info.fileOffset() % alignment != 0) {
            return kernels.call(manager, "clone", view);
        }
        return view;
    }

    /** The tensor's metadata, after checking its dtype and shape; nothing is mapped. */
    public TensorInfo checked(String name, SafetensorsDtype dtype, long... shape) {
        TensorInfo info = checkpoint.tensor(name);
        if (info.dtype() != dtype) {
            throw new CheckpointException(
                    "Tensor '" + name + "' in " + info.file() + " is " + info.dtype() + " but the quantized layout needs "
                            + dtype + ": the checkpoint is damaged or was not written by woq quantize.");
        }
        if (!Arrays.equals(info.shapeArray(), shape)) {
            throw new CheckpointException(
                    "Tensor '" + name + "' in " + info.file() + " has shape " + Arrays.toString(info.shapeArray())
                            + " but config.json implies " + Arrays.toString(shape)
                            + ": the weights do not belong to this config.");
        }
        return info;
    }

    private static int torchCode(SafetensorsDtype dtype) {
        switch (dtype) {
            case U8:
                return 0;
            case I8:
                return 1;
            case I32:
                return 3;
            case F16:
                return 5;
            case F32:
                return 6;
            case BF16:
                return 15;
            default:
                throw new CheckpointException("woq does not load " + dtype + " tensors");
        }
    }

    /**
     * A view of the tensor's bytes with torch dtype code {@code torchDtype}. When the data is not
     * aligned to its element size (possible in hand-written files), it is copied instead.
     */
    private PtNDArray view(TensorInfo info, int torchDtype) {
        int elem = info.dtype().byteSize();
        long[] shape = info.shapeArray();
        if (info.fileOffset() % elem != 0) {
            return copied(info, torchDtype);
        }
        PtNDArray flat = mapping(info.file(), elem, torchDtype);
        return kernels.call(manager, "tensor_at", flat, info.fileOffset() / elem, info.numel(), shape);
    }

    private PtNDArray mapping(Path file, int elem, int torchDtype) {
        String key = file.toAbsolutePath() + "#" + torchDtype;
        PtNDArray flat = mappings.get(key);
        if (flat == null) {
            long size = file.toFile().length();
            flat = kernels.call(manager, "map_file", file.toAbsolutePath().toString(), size / elem, (long) torchDtype);
            mappings.put(key, flat);
        }
        return flat;
    }

    private PtNDArray copied(TensorInfo info, int torchDtype) {
        ByteBuffer bytes = ByteBuffer.allocateDirect(Math.toIntExact(info.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(info.file(), StandardOpenOption.READ)) {
            long pos = info.fileOffset();
            while (bytes.hasRemaining()) {
                int n = ch.read(bytes, pos);
                if (n < 0) {
                    throw new CheckpointException(info.file() + " ended inside tensor '" + info.name() + "'");
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new CheckpointException("Cannot read tensor '" + info.name() + "' from " + info.file() + ": " + e.getMessage(), e);
        }
        bytes.flip();
        Shape shape = new Shape(info.shape());
        if (torchDtype == 15) {
            // DJL cannot create bf16 arrays: widen to fp32 (exact) and let libtorch narrow it back.
            ByteBuffer f32 = ByteBuffer.allocateDirect(bytes.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
            while (bytes.hasRemaining()) {
                f32.putInt((bytes.getShort() & 0xffff) << 16);
            }
            f32.flip();
            PtNDArray wide = (PtNDArray) manager.create(f32, shape, DataType.FLOAT32);
            return kernels.call(manager, "to_dtype", wide, 15L);
        }
        DataType type = torchDtype == 0 ? DataType.UINT8
                : torchDtype == 1 ? DataType.INT8
                : torchDtype == 3 ? DataType.INT32
                : torchDtype == 5 ? DataType.FLOAT16 : DataType.FLOAT32;
        return (PtNDArray) manager.create(bytes, shape, type);
    }

    /** Drops the whole-file mappings; views handed out keep their storage alive. */
    @Override
    public void close() {
        mappings.values().forEach(PtNDArray::close);
        mappings.clear();
    }
}
