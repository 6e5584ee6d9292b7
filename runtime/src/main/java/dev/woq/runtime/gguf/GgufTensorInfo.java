package dev.woq.runtime.gguf;

import java.util.Arrays;

/**
 * One tensor of a GGUF file.
 *
 * @param name e.g. {@code blk.0.attn_q.weight}
 * @param dims ggml's dimensions, innermost first: a Hugging Face {@code [out, in]} matrix is
 *     {@code {in, out}} here
 * @param type its element type
 * @param offset its data's offset from the start of the file's data section
 */
public record GgufTensorInfo(String name, long[] dims, GgufType type, long offset) {
    public GgufTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Values per row: {@code dims[0]}. */
    public long rowLength() {
        return dims[0];
    }

    /** Rows: the product of the outer dimensions (1 for a vector). */
    public long rows() {
        long n = 1;
        for (int i = 1; i < dims.length; i++) {
            n *= dims[i];
        }
        return n;
    }

    /** Number of values. */
    public long numel() {
        return rowLength() * rows();
    }

    /** Bytes of data. */
    public long byteLength() {
        return type.bytesFor(numel());
    }

    /** The shape as Hugging Face writes it, outermost first. */
    public long[] hfShape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = dims[dims.length - 1 - i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims)
                && type == t.type && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims);
    }
}
