package dev.woq.runtime.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
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
    private final TorchOps ops;
    private final PtNDManager manager;
    private final SafetensorsCheckpoint checkpoint;
    private final Map<String, PtNDArray> mappings = new HashMap<>();

    /**
     * @param manager owns the tensors handed out; they live as long as it does
     */
    public MappedWeights(TorchOps ops, PtNDManager manager, SafetensorsCheckpoint checkpoint) {
        this.ops = ops;
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
                tensor = view(info, TorchDtype.BFLOAT16);
                break;
            case F16:
                tensor = ops.to(manager, view(info, TorchDtype.FLOAT16), TorchDtype.BFLOAT16);
                break;
            case F32:
                tensor = ops.to(manager, view(info, TorchDtype.FLOAT32), TorchDtype.BFLOAT16);
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
            return ops.copy(manager, view);
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

    private static TorchDtype torchCode(SafetensorsDtype dtype) {
        switch (dtype) {
            case U8:
                return TorchDtype.UINT8;
            case I8:
                return TorchDtype.INT8;
            case I32:
                return TorchDtype.INT32;
            case F16:
                return TorchDtype.FLOAT16;
            case F32:
                return TorchDtype.FLOAT32;
            case BF16:
                return TorchDtype.BFLOAT16;
            default:
                throw new CheckpointException("woq does not load " + dtype + " tensors");
        }
    }

    /**
     * A view of the tensor's bytes with torch dtype code {@code torchDtype}. When the data is not
     * aligned to its element size (possible in hand-written files), it is copied instead.
     */
    private PtNDArray view(TensorInfo info, TorchDtype torchDtype) {
        int elem = info.dtype().byteSize();
        long[] shape = info.shapeArray();
        if (info.fileOffset() % elem != 0) {
            return copied(info, torchDtype);
        }
        PtNDArray flat = mapping(info.file(), elem, torchDtype);
        return ops.view(manager, flat, info.fileOffset() / elem, info.numel(), shape);
    }

    private PtNDArray mapping(Path file, int elem, TorchDtype torchDtype) {
        String key = file.toAbsolutePath() + "#" + torchDtype;
        PtNDArray flat = mappings.get(key);
        if (flat == null) {
            long size = file.toFile().length();
            flat = ops.mapFile(manager, file, size / elem, torchDtype);
            mappings.put(key, flat);
        }
        return flat;
    }

    private PtNDArray copied(TensorInfo info, TorchDtype torchDtype) {
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
        if (torchDtype == TorchDtype.BFLOAT16) {
            // DJL cannot create bf16 arrays: widen to fp32 (exact) and let libtorch narrow it back.
            ByteBuffer f32 = ByteBuffer.allocateDirect(bytes.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
            while (bytes.hasRemaining()) {
                f32.putInt((bytes.getShort() & 0xffff) << 16);
            }
            f32.flip();
            PtNDArray wide = (PtNDArray) manager.create(f32, shape, DataType.FLOAT32);
            return ops.to(manager, wide, TorchDtype.BFLOAT16);
        }
        DataType type = switch (torchDtype) {
            case UINT8 -> DataType.UINT8;
            case INT8 -> DataType.INT8;
            case INT32 -> DataType.INT32;
            case FLOAT16 -> DataType.FLOAT16;
            case FLOAT32 -> DataType.FLOAT32;
            case BFLOAT16 -> throw new IllegalStateException("bf16 is widened above");
        };
        return (PtNDArray) manager.create(bytes, shape, type);
    }

    /** Drops the whole-file mappings; views handed out keep their storage alive. */
    @Override
    public void close() {
        mappings.values().forEach(PtNDArray::close);
        mappings.clear();
    }
}
