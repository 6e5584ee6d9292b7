package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufReaderWriterTest {
    @TempDir
    Path dir;

    private static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("t.u8", new GgufValue(GgufValueType.UINT8, null, 200));
        m.put("t.i8", new GgufValue(GgufValueType.INT8, null, -100));
        m.put("t.u16", new GgufValue(GgufValueType.UINT16, null, 60000));
        m.put("t.i16", new GgufValue(GgufValueType.INT16, null, -30000));
        m.put("t.u32", GgufValue.uint32(4_000_000_000L));
        m.put("t.i32", new GgufValue(GgufValueType.INT32, null, -2_000_000_000));
        m.put("t.f32", GgufValue.float32(0.25));
        m.put("t.bool", GgufValue.bool(true));
        m.put("t.string", GgufValue.string("llama ü ✓"));
        m.put("t.u64", new GgufValue(GgufValueType.UINT64, null, 1L << 40));
        m.put("t.i64", new GgufValue(GgufValueType.INT64, null, -(1L << 40)));
        m.put("t.f64", new GgufValue(GgufValueType.FLOAT64, null, 1e-300));
        m.put("t.strings", GgufValue.strings(List.of("a", "", "Ġb c")));
        m.put("t.ints", GgufValue.int32s(List.of(1, -2, 3)));
        m.put("t.floats", GgufValue.float32s(List.of(1.5f, -0.5f)));
        m.put("t.nested", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY,
                List.of(GgufValue.int32s(List.of(7)), GgufValue.int32s(List.of(8, 9)))));
        return m;
    }

    private Path writeSample(Path file, Map<String, GgufValue> metadata) {
        ByteBuffer bf16 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 8; i++) {
            bf16.putShort((short) (0x3F80 + i)); // 1.0 and the next bf16 values
        }
        bf16.flip();
        float[] x = new float[64];
        for (int i = 0; i < 64; i++) {
            x[i] = (i - 32) / 4f;
        }
        ByteBuffer q8 = ByteBuffer.allocate(68).order(ByteOrder.LITTLE_ENDIAN);
        GgufType.Q8_0.quantize(x, 0, 64, q8, 0);
        ByteBuffer f32 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2).putFloat(3).flip();
        try (GgufWriter w = new GgufWriter(file, metadata, List.of(
                new GgufWriter.Tensor("a.weight", GgufType.BF16, 4, 2),
                new GgufWriter.Tensor("b.weight", GgufType.Q8_0, 32, 2),
                new GgufWriter.Tensor("c.weight", GgufType.F32, 3)))) {
            w.write("a.weight", bf16.slice(0, 6));
            w.write("a.weight", bf16.slice(6, 10)); // in two pieces
            w.write("b.weight", q8);
            w.write("c.weight", f32);
            w.commit();
        }
        return file;
    }

    @Test
    void metadataOfEveryTypeAndTensorsRoundTrip() {
        Path file = writeSample(dir.resolve("m.gguf"), everyValueType());
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals(3, r.version());
            assertEquals(everyValueType(), r.metadata());
            assertEquals(List.of("a.weight", "b.weight", "c.weight"), r.tensors().stream().map(GgufTensorInfo::name).toList());
            GgufTensorInfo a = r.tensor("a.weight").orElseThrow();
            assertArrayEquals(new long[] {4, 2}, a.dims());
            assertArrayEquals(new long[] {2, 4}, a.hfShape());
            assertEquals(0, r.dataStart() % 32);
            float[] rows = GgufReader.dequantizeRows(a, r.data(a), 1, 1);
            assertEquals(Float.intBitsToFloat(0x3F84 << 16), rows[0]);
            GgufTensorInfo b = r.tensor("b.weight").orElseThrow();
            assertEquals(32, b.offset()); // a's 16 bytes padded to 32
            float[] q = GgufReader.dequantizeRows(b, r.data(b), 0, 2);
            for (int i = 0; i < 64; i++) {
                assertEquals((i - 32) / 4f, q[i], 8f / 127 / 2 + 1e-3, "value " + i);
            }
            GgufTensorInfo c = r.tensor("c.weight").orElseThrow();
            assertArrayEquals(new float[] {1, 2, 3}, GgufReader.dequantizeRows(c, r.data(c), 0, 1));
        }
    }

    @Test
    void alignmentFromMetadataPlacesEveryTensor() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufKeys.ALIGNMENT, GgufValue.uint32(256));
        Path file = writeSample(dir.resolve("aligned.gguf"), m);
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals(256, r.alignment());
            assertEquals(0, r.dataStart() % 256);
            assertEquals(256, r.tensor("b.weight").orElseThrow().offset());
            assertEquals(512, r.tensor("c.weight").orElseThrow().offset());
        }
    }

    @Test
    void failedWriteLeavesNoFile() throws IOException {
        Path file = dir.resolve("x.gguf");
        try (GgufWriter w = new GgufWriter(file, Map.of(), List.of(new GgufWriter.Tensor("a", GgufType.F32, 4)))) {
            w.write("a", ByteBuffer.allocate(8));
            // no commit: an exception in the caller ends here
        }
        assertFalse(Files.exists(file));
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "the hidden temporary file is deleted");
        }
    }

    @Test
    void truncatedFileNamesTheTensorAndSizes() throws IOException {
        Path file = writeSample(dir.resolve("t.gguf"), everyValueType());
        long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size - 24); // the last tensor's 12 bytes are followed by 20 of padding
        }
        GgufException e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("is truncated: tensor 'c.weight' ends at byte " + (size - 20)
                + " but the file has " + (size - 24) + " bytes"), e.getMessage());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(100); // inside the metadata
        }
        e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("is truncated: its header needs"), e.getMessage());
    }

    @Test
    void unknownTensorTypeIsRefusedByName() throws IOException {
        Path file = dir.resolve("u.gguf");
        try (GgufWriter w = new GgufWriter(file, Map.of(), List.of(new GgufWriter.Tensor("w", GgufType.F32, 256)))) {
            w.write("w", ByteBuffer.allocate(1024));
            w.commit();
        }
        // header: magic, version, counts (24 bytes); name (8 + 1); rank (4); one dim (8); then the type
        int typeAt = 24 + 9 + 4 + 8;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 11), typeAt);
        }
        GgufException e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("Tensor 'w' in " + file + " has tensor type Q3_K (ggml type 11)"), e.getMessage());
    }

    @Test
    void oldGgmlFileIsToldToConvertFirst() throws IOException {
        Path file = dir.resolve("llama-2-7b-chat.ggmlv3.q4_0.bin");
        Files.write(file, "tjgg\u0003\0\0\0 then weights".getBytes(StandardCharsets.ISO_8859_1));
        GgufException e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("old 'ggjt' format"), e.getMessage());
        assertTrue(e.getMessage().contains("Convert it to GGUF first"), e.getMessage());
        Files.write(file, "lmgg0000".getBytes(StandardCharsets.ISO_8859_1));
        e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("Convert it to GGUF first"), e.getMessage());
    }

    @Test
    void otherFilesAreNotGguf() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Files.write(file, new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        GgufException e = assertThrows(GgufException.class, () -> GgufReader.open(file));
        assertTrue(e.getMessage().contains("is not a GGUF file"), e.getMessage());
        assertTrue(assertThrows(GgufException.class, () -> GgufReader.open(dir.resolve("none.gguf")))
                .getMessage().contains("does not exist"));
    }
}
