package dev.woq.runtime.safetensors;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.woq.runtime.CheckpointException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Builds the first bytes of a safetensors file, length prefix and JSON, for tensors laid out
 * contiguously in the given order.
 */
final class HeaderEncoder {
    /**
     * The data section starts at a multiple of this. The reference library pads to 8; woq pads to
     * 64 so that the first tensor, and every tensor whose predecessors' sizes are multiples of 64,
     * sits on a cache line, which the int8 kernels and memory mapping want.
     */
    static final int DATA_ALIGNMENT = 64;

    // HTML escaping would turn '<' in a metadata value into \u003c: valid, but needlessly unreadable.
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private HeaderEncoder() {}

    /** The 8-byte little-endian length, then the JSON padded with spaces to {@link #DATA_ALIGNMENT}. */
    static ByteBuffer encode(Path target, List<TensorDeclaration> tensors, Map<String, String> metadata) {
        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add(HeaderParser.METADATA_KEY, meta);
        }
        long offset = 0;
        for (TensorDeclaration t : tensors) {
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", t.dtype().name());
            JsonArray shape = new JsonArray();
            t.shape().forEach(shape::add);
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += t.byteLength();
            offsets.add(offset);
            entry.add("data_offsets", offsets);
            header.add(t.name(), entry);
        }
        byte[] json = GSON.toJson(header).getBytes(StandardCharsets.UTF_8);
        int padding = (int) Math.floorMod(-(8L + json.length), (long) DATA_ALIGNMENT);
        long headerLength = (long) json.length + padding;
        if (headerLength > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new CheckpointException("Cannot write " + target + ": its header would be " + Fmt.num(headerLength)
                    + " bytes, more than the " + Fmt.num(SafetensorsFile.MAX_HEADER_BYTES)
                    + " readers accept. Split the tensors over more shards or shorten the metadata.");
        }
        ByteBuffer buf = ByteBuffer.allocate(8 + (int) headerLength).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(headerLength).put(json);
        byte[] spaces = new byte[padding];
        Arrays.fill(spaces, (byte) ' ');
        buf.put(spaces).flip();
        return buf;
    }
}
