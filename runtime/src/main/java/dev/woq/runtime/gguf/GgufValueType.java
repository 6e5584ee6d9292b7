package dev.woq.runtime.gguf;

/** The types of GGUF metadata values ({@code enum gguf_type} in llama.cpp's {@code gguf.h}). */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, -1),
    ARRAY(9, -1),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    /** The number stored in the file. */
    public int id() {
        return id;
    }

    /** Bytes of one value, or -1 for a string or array. */
    int size() {
        return size;
    }

    /** The type numbered {@code id}, or {@code null}. */
    static GgufValueType ofId(int id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
