package dev.woq.runtime.gguf;

import java.util.List;
import java.util.Objects;

/**
 * One metadata value with its GGUF type. Java types: {@code UINT8}, {@code INT8}, {@code UINT16},
 * {@code INT16}, {@code INT32} hold an {@link Integer}; {@code UINT32}, {@code UINT64}, {@code INT64} a
 * {@link Long}; {@code FLOAT32} a {@link Float}; {@code FLOAT64} a {@link Double}; {@code BOOL} a
 * {@link Boolean}; {@code STRING} a {@link String}; {@code ARRAY} a {@link List} of values of
 * {@code elementType} (never an array of arrays in what woq writes).
 *
 * @param type the value's type
 * @param elementType for an array, its elements' type; else {@code null}
 * @param value the value
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if ((type == GgufValueType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("elementType is for arrays only: " + type + " of " + elementType);
        }
    }

    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, null, s);
    }

    public static GgufValue uint32(long v) {
        if (v < 0 || v > 0xFFFFFFFFL) {
            throw new IllegalArgumentException("not a uint32: " + v);
        }
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue float32(double v) {
        return new GgufValue(GgufValueType.FLOAT32, null, (float) v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue strings(List<String> items) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(items));
    }

    public static GgufValue int32s(List<Integer> items) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, List.copyOf(items));
    }

    public static GgufValue float32s(List<Float> items) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, List.copyOf(items));
    }

    /** The value as a long, for any integer type. */
    public long asLong() {
        if (value instanceof Integer i) {
            return i;
        }
        if (value instanceof Long l) {
            return l;
        }
        throw new GgufException("expected an integer, found " + type + " " + this);
    }

    /** The value as a double, for any number type. */
    public double asDouble() {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        throw new GgufException("expected a number, found " + type + " " + this);
    }

    /** The list of an array. */
    public List<?> asList() {
        if (value instanceof List<?> l) {
            return l;
        }
        throw new GgufException("expected an array, found " + type);
    }

    @Override
    public String toString() {
        if (value instanceof List<?> l) {
            return "[" + l.size() + " x " + elementType + "]";
        }
        return String.valueOf(value);
    }
}
