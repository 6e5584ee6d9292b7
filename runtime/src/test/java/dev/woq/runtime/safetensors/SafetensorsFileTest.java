package dev.woq.runtime.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    /**
     * The bytes {@code safetensors.torch.save_file({"embed": f32[2,3], "norm": bf16[3], "mask":
     * bool[2]}, path, metadata={"format": "pt"})} writes: compact JSON with __metadata__ first,
     * tensors sorted by descending dtype then name (F32, BF16, BOOL), header padded with spaces to
     * a multiple of 8 (not 64), data contiguous from offset 0.
     */
    private static final String PYTHON_HEADER = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"embed\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"norm\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[24,30]},"
            + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[30,32]}}";

    @Test
    void fileWrittenByPythonSafetensorsIsRead() throws IOException {
        byte[] data = RawFiles.counting(32);
        Path file = RawFiles.write(dir.resolve("model.safetensors"), PYTHON_HEADER, 8, data);
        long headerLength = (PYTHON_HEADER.length() + 7) / 8 * 8;
        assertEquals(8 + headerLength + 32, Files.size(file));

        SafetensorsFile st = SafetensorsFile.open(file);

        assertEquals(8 + headerLength, st.dataStart());
        assertEquals(Map.of("format", "pt"), st.metadata());
        assertEquals(List.of("embed", "norm", "mask"), st.tensors().stream().map(TensorInfo::name).toList());
        TensorInfo embed = st.tensor("embed").orElseThrow();
        assertEquals(SafetensorsDtype.F32, embed.dtype());
        assertEquals(List.of(2L, 3L), embed.shape());
        assertArrayEquals(new long[] {2, 3}, embed.shapeArray());
        assertEquals(6, embed.numel());
        assertEquals(st.dataStart(), embed.fileOffset());
        assertEquals(24, embed.byteLength());
        TensorInfo norm = st.tensor("norm").orElseThrow();
        assertEquals(SafetensorsDtype.BF16, norm.dtype());
        assertEquals(st.dataStart() + 24, norm.fileOffset());
        assertArrayEquals(Arrays.copyOfRange(data, 24, 30), RawFiles.read(norm));
        TensorInfo mask = st.tensor("mask").orElseThrow();
        assertEquals(SafetensorsDtype.BOOL, mask.dtype());
        assertArrayEquals(Arrays.copyOfRange(data, 30, 32), RawFiles.read(mask));
        assertTrue(st.tensor("absent").isEmpty());
    }

    @Test
    void unpaddedHeaderOfOlderWritersIsRead() throws IOException {
        // The reference library's own doc example: header length 60, not a multiple of 8.
        String json = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        assertEquals(60, json.length());
        Path file = RawFiles.write(dir.resolve("old.safetensors"), json, 16);

        SafetensorsFile st = SafetensorsFile.open(file);

        assertEquals(68, st.dataStart());
        assertEquals(68, st.tensor("test").orElseThrow().fileOffset());
        assertTrue(st.metadata().isEmpty());
    }

    @Test
    void tensorsAreListedInOffsetOrderWhateverTheHeaderOrder() throws IOException {
        String json = "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
        SafetensorsFile st = SafetensorsFile.open(RawFiles.write(dir.resolve("x.safetensors"), json, 8));
        assertEquals(List.of("a", "b"), st.tensors().stream().map(TensorInfo::name).toList());
    }

    @Test
    void scalarsAndEmptyTensorsAreRead() throws IOException {
        String json = "{\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
                + "\"scalar\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                + "\"alsoEmpty\":{\"dtype\":\"BF16\",\"shape\":[3,0],\"data_offsets\":[8,8]}}";
        SafetensorsFile st = SafetensorsFile.open(RawFiles.write(dir.resolve("x.safetensors"), json, 8));
        assertEquals(1, st.tensor("scalar").orElseThrow().numel());
        assertEquals(0, st.tensor("scalar").orElseThrow().rank());
        assertEquals(0, st.tensor("empty").orElseThrow().numel());
        assertEquals(0, st.tensor("alsoEmpty").orElseThrow().byteLength());
    }

    @Test
    void emptyFileWithNoTensorsIsRead() throws IOException {
        SafetensorsFile st = SafetensorsFile.open(RawFiles.write(dir.resolve("x.safetensors"), "{}", 8, new byte[0]));
        assertTrue(st.tensors().isEmpty());
    }

    @Test
    void truncatedShardIsRejectedWithItsPathAndTensor() throws IOException {
        String json = "{\"model.layers.0.w\":{\"dtype\":\"BF16\",\"shape\":[4,4],\"data_offsets\":[0,32]},"
                + "\"model.layers.3.mlp.up_proj.weight\":{\"dtype\":\"BF16\",\"shape\":[8,4],\"data_offsets\":[32,96]},"
                + "\"model.norm.weight\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[96,104]}}";
        Path file = RawFiles.write(dir.resolve("model-00002-of-00004.safetensors"), json, 50); // cut in tensor 2
        long headerEnd = Files.size(file) - 50;

        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));

        assertContains(e, file.toString(), "truncated", "model.layers.3.mlp.up_proj.weight",
                "file is " + Files.size(file) + " bytes", "ends at byte " + (headerEnd + 96),
                "1 later tensor lies", "Re-download");
    }

    @Test
    void headerLengthBeyondTheFileIsABadHeaderLength() throws IOException {
        Path file = dir.resolve("x.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put(new byte[12]);
        Files.write(file, b.array());

        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));

        assertContains(e, file.toString(), "bad header length", "1,000 bytes", "file is 20 bytes");
    }

    @Test
    void hugeHeaderLengthIsABadHeaderLength() throws IOException {
        // A zip/pickle file misnamed .safetensors: its first 8 bytes read as an absurd length.
        Path file = dir.resolve("pytorch_model.safetensors");
        byte[] zip = new byte[4096];
        System.arraycopy("PK\u0003\u0004\u0014\u0000\u0000\u0000".getBytes(StandardCharsets.ISO_8859_1), 0, zip, 0, 8);
        Files.write(file, zip);

        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));

        assertContains(e, file.toString(), "bad header length", "not a safetensors file");
    }

    @Test
    void headerLengthWithTopBitSetIsABadHeaderLength() throws IOException {
        Path file = dir.resolve("x.safetensors");
        Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, "bad header length", "18446744073709551615");
    }

    @Test
    void fileShorterThanTheLengthPrefixIsRejected() throws IOException {
        Path file = Files.write(dir.resolve("x.safetensors"), new byte[5]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "only 5 bytes");
    }

    @Test
    void nonJsonHeaderIsRejectedWithThePath() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"), "this is not json", 8, new byte[0]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "not valid JSON");
    }

    @Test
    void truncatedJsonHeaderIsRejected() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"), "{\"a\":{\"dtype\":\"F32\",", 8, new byte[0]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "not valid JSON");
    }

    @Test
    void jsonHeaderThatIsNotAnObjectIsRejected() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"), "[1, 2]", 8, new byte[0]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "an array, not an object");
    }

    @Test
    void headerThatIsNotUtf8IsRejected() throws IOException {
        Path file = dir.resolve("x.safetensors");
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4)
                .put(new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'});
        Files.write(file, b.array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "not valid UTF-8");
    }

    @Test
    void unknownDtypeIsRejectedWithFileAndTensor() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"),
                "{\"w\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "'w'", "dtype 'F4'", "BF16");
    }

    @Test
    void byteCountThatDoesNotMatchTheShapeIsRejected() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"),
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[4096,4096],\"data_offsets\":[0,1000]}}", 1000);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "'w'", "shape [4096, 4096] BF16 needs 33,554,432 bytes",
                "data_offsets [0, 1000] span 1,000");
    }

    @Test
    void overlappingTensorsAreRejected() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}";
        Path file = RawFiles.write(dir.resolve("x.safetensors"), json, 12);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "overlapping", "'b'", "[4, 12]", "'a'", "[0, 8]");
    }

    @Test
    void holeBetweenTensorsIsRejected() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}";
        Path file = RawFiles.write(dir.resolve("x.safetensors"), json, 12);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "hole", "[4, 8)", "'b'");
    }

    @Test
    void offsetsBeyondTheDataSectionAreRejected() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"far\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[4,4004]}}";
        Path file = RawFiles.write(dir.resolve("x.safetensors"), json, 8);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "'far'", "ends at byte", "truncated");
    }

    @Test
    void bytesAfterTheLastTensorAreRejected() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 10);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "6 bytes after its last tensor 'a'");
    }

    @Test
    void tensorNamedTwiceIsRejected() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}";
        Path file = RawFiles.write(dir.resolve("x.safetensors"), json, 8);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertContains(e, file.toString(), "'a' twice");
    }

    @Test
    void negativeOrFractionalDimensionsAreRejected() throws IOException {
        Path neg = RawFiles.write(dir.resolve("neg.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[-4],\"data_offsets\":[0,4]}}", 4);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(neg)), "'a'", "-4", "negative");
        Path frac = RawFiles.write(dir.resolve("frac.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4.5]}}", 4);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(frac)), "'a'", "4.5",
                "not an integer");
    }

    @Test
    void dataOffsetsMustBeTwoNumbersInOrder() throws IOException {
        Path three = RawFiles.write(dir.resolve("three.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4,8]}}", 4);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(three)), "'a'", "3 numbers");
        Path backwards = RawFiles.write(dir.resolve("back.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,0]}}", 4);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(backwards)), "'a'",
                "[4, 0] end before they begin");
    }

    @Test
    void entryLackingAFieldIsRejected() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"), "{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}", 4);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file)), "'a'",
                "lacks \"data_offsets\"");
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        Path file = RawFiles.write(dir.resolve("x.safetensors"), "{\"__metadata__\":{\"epochs\":3}}", 8, new byte[0]);
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file)), "'epochs'",
                "only strings");
    }

    @Test
    void missingFileIsRejectedWithItsPath() {
        Path file = dir.resolve("nope.safetensors");
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file)), file.toString(),
                "does not exist");
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsFile.open(dir)), dir.toString(),
                "not a regular file");
    }

    @Test
    void dtypeNamesAndSizesMatchTheFormat() {
        assertEquals(SafetensorsDtype.BF16, SafetensorsDtype.fromName("BF16").orElseThrow());
        assertEquals(2, SafetensorsDtype.BF16.byteSize());
        assertEquals(1, SafetensorsDtype.BOOL.byteSize());
        assertEquals(8, SafetensorsDtype.I64.byteSize());
        assertTrue(SafetensorsDtype.fromName("bf16").isEmpty());
        assertTrue(SafetensorsDtype.fromName("Q4_K").isEmpty());
    }

    static void assertContains(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "message lacks \"" + part + "\": " + e.getMessage());
        }
    }
}
