package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A tensor to be written: its name, dtype and shape, declared before any data so that a writer
 * can lay out the header up front.
 *
 * @param name the tensor's name in the header
 * @param dtype its element type
 * @param shape its dimensions, outermost first; empty for a scalar (immutable)
 */
public record TensorDeclaration(String name, SafetensorsDtype dtype, List<Long> shape) {

    public TensorDeclaration {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = List.copyOf(shape);
        for (long d : shape) {
            if (d < 0) {
                throw new CheckpointException("Tensor '" + name + "' is declared with shape " + Fmt.shape(shape)
                        + ", which has a negative dimension. Pass the tensor's real shape.");
            }
        }
        byteLength(name, dtype, shape); // fail now, not halfway through a write, if it overflows
    }

    /** Declares a tensor from a shape given as {@code long...}, e.g. {@code of("w", BF16, 4096, 4096)}. */
    public static TensorDeclaration of(String name, SafetensorsDtype dtype, long... shape) {
        List<Long> dims = new ArrayList<>(shape.length);
        for (long d : shape) {
            dims.add(d);
        }
        return new TensorDeclaration(name, dtype, dims);
    }

    /** Number of elements: the product of the shape, 1 for a scalar. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d; // checked by the constructor
        }
        return n;
    }

    /** Bytes of data the tensor needs: {@code numel() * dtype.byteSize()}. */
    public long byteLength() {
        return numel() * dtype.byteSize();
    }

    private static void byteLength(String name, SafetensorsDtype dtype, List<Long> shape) {
        try {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            Math.multiplyExact(n, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointException("Tensor '" + name + "' is declared with shape " + Fmt.shape(shape) + " "
                    + dtype + ", whose size in bytes does not fit in 64 bits. Pass the tensor's real shape.");
        }
    }
}
