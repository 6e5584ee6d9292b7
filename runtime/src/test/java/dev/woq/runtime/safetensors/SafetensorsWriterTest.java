package dev.woq.runtime.safetensors;

import static dev.woq.runtime.safetensors.SafetensorsFileTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    private final List<TensorDeclaration> tensors = List.of(
            TensorDeclaration.of("model.embed_tokens.weight", SafetensorsDtype.BF16, 10, 6),
            TensorDeclaration.of("model.layers.0.qweight", SafetensorsDtype.I8, 7, 3),
            TensorDeclaration.of("model.layers.0.scales", SafetensorsDtype.F32, 7),
            TensorDeclaration.of("model.norm.weight", SafetensorsDtype.BF16, 6));

    @Test
    void writtenTensorsReadBackByteForByte() throws IOException {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors, Map.of("format", "pt", "quant", "int8<w>"))) {
            for (int i = 0; i < tensors.size(); i++) {
                w.writeTensor(tensors.get(i).name(), ByteBuffer.wrap(data(i)));
            }
            w.commit();
        }

        SafetensorsFile st = SafetensorsFile.open(target);
        assertEquals(Map.of("format", "pt", "quant", "int8<w>"), st.metadata());
        assertEquals(tensors.stream().map(TensorDeclaration::name).toList(),
                st.tensors().stream().map(TensorInfo::name).toList());
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = st.tensor(tensors.get(i).name()).orElseThrow();
            assertEquals(tensors.get(i).dtype(), t.dtype());
            assertEquals(tensors.get(i).shape(), t.shape());
            assertArrayEquals(data(i), RawFiles.read(t), t.name());
        }
        assertTrue(leftovers().isEmpty(), "temporary files left: " + leftovers());
    }

    @Test
    void dataSectionStartsAtAMultipleOf64() throws IOException {
        for (int names = 1; names <= 70; names += 3) { // header lengths of every residue mod 64
            Path target = dir.resolve("aligned" + names + ".safetensors");
            List<TensorDeclaration> decls = Stream.iterate(0, i -> i + 1).limit(names)
                    .map(i -> TensorDeclaration.of("t" + i, SafetensorsDtype.U8, 1)).toList();
            try (SafetensorsWriter w = new SafetensorsWriter(target, decls)) {
                for (TensorDeclaration d : decls) {
                    w.writeTensor(d.name(), ByteBuffer.wrap(new byte[] {(byte) d.name().hashCode()}));
                }
                assertEquals(0, w.dataStart() % 64);
                w.commit();
            }
            SafetensorsFile st = SafetensorsFile.open(target);
            assertEquals(0, st.dataStart() % 64, "data start " + st.dataStart());
            assertEquals(st.dataStart(), st.tensors().iterator().next().fileOffset());
        }
    }

    @Test
    void tensorsMayArriveInChunksOfAnySizeAndBufferKind() throws IOException {
        // 20 MiB: larger than the 8 MiB staging buffer, so direct buffers take the unstaged path.
        int size = 20 << 20;
        List<TensorDeclaration> decls = List.of(
                TensorDeclaration.of("big", SafetensorsDtype.BF16, size / 2),
                TensorDeclaration.of("small", SafetensorsDtype.U8, 3),
                TensorDeclaration.of("direct", SafetensorsDtype.F32, size / 4));
        byte[] big = RawFiles.pattern(1, size);
        byte[] direct = RawFiles.pattern(3, size);
        Path target = dir.resolve("chunks.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, decls)) {
            // Heap chunks of odd sizes, one of them a slice whose position is not 0.
            int at = 0;
            for (int chunk : new int[] {1, 4095, 9 << 20, 17}) {
                ByteBuffer b = ByteBuffer.wrap(big, at, chunk);
                w.writeTensor("big", b);
                assertFalse(b.hasRemaining(), "writeTensor consumes the buffer");
                at += chunk;
            }
            w.writeTensor("big", ByteBuffer.wrap(big, at, size - at));
            w.writeTensor("small", ByteBuffer.wrap(new byte[] {7, 8, 9}));
            ByteBuffer d = ByteBuffer.allocateDirect(size).put(direct).flip();
            w.writeTensor("direct", d.slice(0, 12 << 20));
            w.writeTensor("direct", d.slice(12 << 20, size - (12 << 20)));
            w.commit();
        }
        SafetensorsFile st = SafetensorsFile.open(target);
        assertArrayEquals(big, RawFiles.read(st.tensor("big").orElseThrow()));
        assertArrayEquals(new byte[] {7, 8, 9}, RawFiles.read(st.tensor("small").orElseThrow()));
        assertArrayEquals(direct, RawFiles.read(st.tensor("direct").orElseThrow()));
    }

    @Test
    void zeroByteTensorsNeedNoWrite() throws IOException {
        List<TensorDeclaration> decls = List.of(
                TensorDeclaration.of("a", SafetensorsDtype.U8, 2),
                TensorDeclaration.of("empty", SafetensorsDtype.F32, 0, 5),
                TensorDeclaration.of("b", SafetensorsDtype.U8, 2),
                TensorDeclaration.of("trailingEmpty", SafetensorsDtype.F32, 0));
        Path target = dir.resolve("x.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, decls)) {
            w.writeTensor("a", ByteBuffer.wrap(new byte[] {1, 2}));
            w.writeTensor("b", ByteBuffer.wrap(new byte[] {3, 4}));
            w.commit();
        }
        SafetensorsFile st = SafetensorsFile.open(target);
        assertEquals(0, st.tensor("empty").orElseThrow().byteLength());
        assertArrayEquals(new byte[] {3, 4}, RawFiles.read(st.tensor("b").orElseThrow()));
    }

    @Test
    void commitReplacesAnExistingFileAtomically() throws IOException {
        Path target = Files.writeString(dir.resolve("model.safetensors"), "old");
        List<TensorDeclaration> decls = List.of(TensorDeclaration.of("a", SafetensorsDtype.U8, 2));
        try (SafetensorsWriter w = new SafetensorsWriter(target, decls)) {
            w.writeTensor("a", ByteBuffer.wrap(new byte[] {1, 2}));
            assertEquals("old", Files.readString(target), "target untouched until commit");
            w.commit();
        }
        assertArrayEquals(new byte[] {1, 2}, RawFiles.read(SafetensorsFile.open(target).tensor("a").orElseThrow()));
    }

    @Test
    void writerRejectsTensorsOutOfOrderAndLeavesNoFile() {
        Path target = dir.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter(target, tensors);
        w.writeTensor(tensors.get(0).name(), ByteBuffer.wrap(data(0)));

        CheckpointException e = assertThrows(CheckpointException.class,
                () -> w.writeTensor("model.layers.0.scales", ByteBuffer.wrap(data(2))));

        assertContains(e, target.toString(), "'model.layers.0.qweight'", "got no bytes", "declaration order");
        assertFalse(Files.exists(target));
        assertTrue(leftovers().isEmpty(), "the temporary file is deleted at once, even before close()");
        assertThrows(CheckpointException.class, () -> w.writeTensor("model.layers.0.qweight", ByteBuffer.allocate(21)));
        w.close();
    }

    @Test
    void writerRejectsGoingBackToAFinishedTensor() {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors)) {
            w.writeTensor(tensors.get(0).name(), ByteBuffer.wrap(data(0)));
            w.writeTensor(tensors.get(1).name(), ByteBuffer.wrap(data(1)));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> w.writeTensor(tensors.get(0).name(), ByteBuffer.allocate(1)));
            assertContains(e, "'model.embed_tokens.weight' was already written", "'model.layers.0.scales' is due next");
        }
        assertFalse(Files.exists(target));
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void writerRejectsUndeclaredTensor() {
        try (SafetensorsWriter w = new SafetensorsWriter(dir.resolve("x.safetensors"), tensors)) {
            assertContains(assertThrows(CheckpointException.class, () -> w.writeTensor("lm_head.weight",
                    ByteBuffer.allocate(4))), "'lm_head.weight' was not declared");
        }
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void writerRejectsTooManyBytes() {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors)) {
            w.writeTensor(tensors.get(0).name(), ByteBuffer.allocate(100));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> w.writeTensor(tensors.get(0).name(), ByteBuffer.allocate(40)));
            assertContains(e, target.toString(), "'model.embed_tokens.weight'", "[10, 6] BF16", "120 bytes",
                    "140 bytes were written");
        }
        assertFalse(Files.exists(target));
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void writerRejectsTooFewBytesBeforeTheNextTensor() {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors)) {
            w.writeTensor(tensors.get(0).name(), ByteBuffer.allocate(119));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> w.writeTensor(tensors.get(1).name(), ByteBuffer.wrap(data(1))));
            assertContains(e, "'model.embed_tokens.weight'", "120 bytes", "got only 119 bytes",
                    "before tensor 'model.layers.0.qweight'");
        }
        assertFalse(Files.exists(target));
    }

    @Test
    void commitRejectsMissingTensorsAndLeavesNoFile() {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors)) {
            w.writeTensor(tensors.get(0).name(), ByteBuffer.wrap(data(0)));
            CheckpointException e = assertThrows(CheckpointException.class, w::commit);
            assertContains(e, "'model.layers.0.qweight'", "got no bytes before the file was committed");
        }
        assertFalse(Files.exists(target));
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void closeWithoutCommitLeavesNoFile() {
        Path target = dir.resolve("model.safetensors");
        try (SafetensorsWriter w = new SafetensorsWriter(target, tensors)) {
            for (int i = 0; i < tensors.size(); i++) {
                w.writeTensor(tensors.get(i).name(), ByteBuffer.wrap(data(i)));
            }
            // e.g. an exception elsewhere before commit()
        }
        assertFalse(Files.exists(target));
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void tensorDeclaredTwiceIsRejectedUpFront() {
        List<TensorDeclaration> twice = List.of(TensorDeclaration.of("a", SafetensorsDtype.U8, 1),
                TensorDeclaration.of("a", SafetensorsDtype.U8, 1));
        assertContains(assertThrows(CheckpointException.class,
                () -> new SafetensorsWriter(dir.resolve("x.safetensors"), twice)), "'a' is declared twice");
        assertTrue(leftovers().isEmpty());
    }

    @Test
    void missingTargetDirectoryIsReported() {
        Path target = dir.resolve("no/such/dir/model.safetensors");
        assertContains(assertThrows(CheckpointException.class, () -> new SafetensorsWriter(target, tensors)),
                "does not exist");
    }

    private List<Path> leftovers() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().contains(".tmp-")).toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private byte[] data(int i) {
        return RawFiles.pattern(i, (int) tensors.get(i).byteLength());
    }
}
