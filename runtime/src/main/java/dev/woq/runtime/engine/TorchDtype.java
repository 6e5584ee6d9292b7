package dev.woq.runtime.engine;

/** The libtorch scalar types woq's kernels take, with libtorch's own codes ({@code c10::ScalarType}). */
public enum TorchDtype {
    UINT8(0),
    INT8(1),
    INT32(3),
    FLOAT16(5),
    FLOAT32(6),
    BFLOAT16(15);

    private final int code;

    TorchDtype(int code) {
        this.code = code;
    }

    /** The {@code c10::ScalarType} number TorchScript takes as {@code dtype}. */
    public long code() {
        return code;
    }
}
