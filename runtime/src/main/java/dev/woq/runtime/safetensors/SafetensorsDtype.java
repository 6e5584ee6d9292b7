package dev.woq.runtime.safetensors;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The element types woq reads and writes, named exactly as in a safetensors header.
 *
 * <p>Besides the types Llama 3 checkpoints and woq's int8 weights use, this lists the other common
 * whole-byte types of the reference library (unsigned integers, FP8), so that such a file's header
 * can still be read and the caller can decide. Rarer types (sub-byte F4/F6, F8_E8M0, the FNUZ
 * variants, C64) are reported as unknown, with the file and tensor.
 */
public enum SafetensorsDtype {
    /** Bfloat16, Llama 3's weight type. */
    BF16(2),
    /** IEEE half precision. */
    F16(2),
    /** IEEE single precision. */
    F32(4),
    /** IEEE double precision. */
    F64(8),
    /** Signed byte, woq's quantized weights. */
    I8(1),
    /** Unsigned byte. */
    U8(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** Signed 64-bit integer. */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8),
    /** Boolean, one byte each. */
    BOOL(1),
    /** FP8 with 4 exponent and 3 mantissa bits. */
    F8_E4M3(1),
    /** FP8 with 5 exponent and 2 mantissa bits. */
    F8_E5M2(1);

    private final int byteSize;

    SafetensorsDtype(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /**
     * The dtype a header names, e.g. {@code "BF16"}; empty for a name woq does not know, so that
     * the caller can report it with the file and tensor it came from. Names are case-sensitive, as
     * in the reference library.
     */
    public static Optional<SafetensorsDtype> fromName(String name) {
        for (SafetensorsDtype dtype : values()) {
            if (dtype.name().equals(name)) {
                return Optional.of(dtype);
            }
        }
        return Optional.empty();
    }

    /** All names, comma-separated, for error messages. */
    static String knownNames() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
