package dev.woq.runtime.gguf;

import dev.woq.runtime.quant.WeightCodec;

/** IEEE half precision (ggml's {@code ggml_half}): conversions both ways. */
final class Half {
    private Half() {}

    /** The float value of half bits (exact). */
    static float toFloat(short half) {
        return WeightCodec.f16ToFloat(half);
    }

    /**
     * Half bits of {@code f}, rounded to nearest even as ggml's {@code GGML_FP32_TO_FP16}; values
     * beyond 65504 become infinity, tiny ones subnormal or zero.
     */
    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) {
            return (short) (sign | 0x7E00); // NaN
        }
        if (abs >= 0x477FF000) {
            return (short) (sign | 0x7C00); // rounds to or beyond infinity
        }
        if (abs < 0x38800000) {
            // Subnormal half (or zero): the value in units of 2^-24, rounded to nearest even.
            float v = Float.intBitsToFloat(abs) * 0x1p24f;
            return (short) (sign | (int) Math.rint(v));
        }
        int rounded = abs + 0x0FFF + ((abs >>> 13) & 1);
        return (short) (sign | ((rounded - (112 << 23)) >>> 13));
    }

    /** Whether {@code f} is exactly a half value. */
    static boolean isExact(float f) {
        return toFloat(fromFloat(f)) == f;
    }
}
