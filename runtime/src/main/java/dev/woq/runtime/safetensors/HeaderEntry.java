package dev.woq.runtime.safetensors;

import java.util.List;

/** One tensor as its header entry gives it, with offsets still relative to the data section. */
record HeaderEntry(String name, SafetensorsDtype dtype, List<Long> shape, long begin, long end) {

    long byteLength() {
        return end - begin;
    }

    String offsets() {
        return "[" + begin + ", " + end + "]";
    }
}
