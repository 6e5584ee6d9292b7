package dev.woq.runtime.safetensors;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Where one tensor's data lies on disk, as read from a safetensors header.
 *
 * @param name the tensor's name in the header, e.g. {@code model.layers.0.mlp.up_proj.weight}
 * @param dtype its element type
 * @param shape its dimensions, outermost first; empty for a scalar (immutable)
 * @param file the safetensors file that holds it
 * @param fileOffset absolute byte offset of its first byte in {@code file}: the data section start
 *     ({@code 8 + N}) plus its begin offset
 * @param byteLength bytes of data, always {@code numel() * dtype.byteSize()}
 */
public record TensorInfo(
        String name,
        SafetensorsDtype dtype,
        List<Long> shape,
        Path file,
        long fileOffset,
        long byteLength) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(file, "file");
        // Copy so that the record stays immutable whatever list the caller passed.
        shape = List.copyOf(shape);
    }

    /** The shape as a fresh array, e.g. for an engine's shape type. */
    public long[] shapeArray() {
        return shape.stream().mapToLong(Long::longValue).toArray();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.size();
    }

    /** Number of elements: the product of the shape, 1 for a scalar. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d; // cannot overflow: the header reader checked numel * dtype size fits a long
        }
        return n;
    }

    /** Absolute byte offset just past the tensor's last byte in {@code file}. */
    public long endOffset() {
        return fileOffset + byteLength;
    }
}
