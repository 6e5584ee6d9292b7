package dev.woq.runtime.safetensors;

import static dev.woq.runtime.safetensors.SafetensorsFileTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void singleFileCheckpointOpens() {
        writeFile(dir.resolve("model.safetensors"), "model.norm.weight", "lm_head.weight");
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
        assertEquals(List.of(dir.resolve("model.safetensors")), ckpt.files());
        assertTrue(ckpt.contains("lm_head.weight"));
        assertFalse(ckpt.contains("model.embed_tokens.weight"));
        assertEquals(8, ckpt.totalBytes());
        assertEquals(SafetensorsDtype.BF16, ckpt.tensor("model.norm.weight").dtype());
    }

    @Test
    void indexTakesPrecedenceOverASingleFile() throws IOException {
        writeFile(dir.resolve("model.safetensors"), "stale");
        writeFile(dir.resolve("s1.safetensors"), "x");
        writeIndex("\"x\": \"s1.safetensors\"");
        assertEquals(List.of("x"), List.copyOf(SafetensorsCheckpoint.open(dir).names()));
    }

    @Test
    void missingTensorIsNamedWithTheDirectory() {
        writeFile(dir.resolve("model.safetensors"), "a");
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> SafetensorsCheckpoint.open(dir).tensor("model.layers.0.self_attn.q_proj.weight"));
        assertContains(e, dir.toString(), "'model.layers.0.self_attn.q_proj.weight'");
    }

    @Test
    void requireAllListsEveryMissingTensor() {
        writeFile(dir.resolve("model.safetensors"), "model.embed_tokens.weight");
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
        List<String> needed = new ArrayList<>(List.of("model.embed_tokens.weight"));
        for (int i = 0; i < 32; i++) {
            needed.add("model.layers." + i + ".mlp.up_proj.weight");
        }

        CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.requireAll(needed));

        assertContains(e, dir.toString(), "lacks 32 of the 33 tensors", "'model.layers.0.mlp.up_proj.weight'",
                "'model.layers.9.mlp.up_proj.weight'", "and 22 more");
        assertFalse(e.getMessage().contains("model.layers.10."), "only the first few are listed");
        ckpt.requireAll(List.of("model.embed_tokens.weight")); // all present: no error
    }

    @Test
    void indexNamingAMissingShardIsRejected() throws IOException {
        writeFile(dir.resolve("model-00001-of-00002.safetensors"), "a");
        Path index = writeIndex("\"a\": \"model-00001-of-00002.safetensors\","
                + "\"b\": \"model-00002-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"");

        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir));

        assertContains(e, dir.resolve("model-00002-of-00002.safetensors").toString(), index.toString(), "'b'",
                "and 1 more", "missing");
    }

    @Test
    void tensorInIndexButAbsentFromItsShardIsRejected() throws IOException {
        writeFile(dir.resolve("model-00001-of-00002.safetensors"), "a");
        writeFile(dir.resolve("model-00002-of-00002.safetensors"), "b");
        writeIndex("\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00001-of-00002.safetensors\"");

        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir));

        assertContains(e, "'b'", dir.resolve("model-00001-of-00002.safetensors").toString(), "does not hold it");
    }

    @Test
    void truncatedShardOfACheckpointIsNamed() throws IOException {
        Path shard = writeFile(dir.resolve("model-00001-of-00001.safetensors"), "a", "b");
        writeIndex("\"a\": \"model-00001-of-00001.safetensors\", \"b\": \"model-00001-of-00001.safetensors\"");
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(shard) - 1);
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir));
        assertContains(e, shard.toString(), "truncated", "'b'");
    }

    @Test
    void indexWithShardOutsideTheDirectoryIsRejected() throws IOException {
        writeIndex("\"a\": \"../elsewhere.safetensors\"");
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir)),
                "'../elsewhere.safetensors'", "not a file name");
    }

    @Test
    void indexThatIsNotJsonIsRejected() throws IOException {
        Path index = Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {");
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir)),
                index.toString(), "not valid JSON");
    }

    @Test
    void directoryWithoutCheckpointIsRejected() {
        writeFile(dir.resolve("adapter.safetensors"), "a");
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(dir));
        assertContains(e, "No model.safetensors or model.safetensors.index.json in " + dir, "'adapter.safetensors'");
        Path missing = dir.resolve("missing");
        assertContains(assertThrows(CheckpointException.class, () -> SafetensorsCheckpoint.open(missing)),
                missing.toString(), "does not exist");
    }

    /** A file of 2-element BF16 tensors, written by the writer under test elsewhere. */
    private static Path writeFile(Path file, String... names) {
        List<TensorDeclaration> decls = new ArrayList<>();
        for (String n : names) {
            decls.add(TensorDeclaration.of(n, SafetensorsDtype.BF16, 2));
        }
        try (SafetensorsWriter w = new SafetensorsWriter(file, decls)) {
            for (String n : names) {
                w.writeTensor(n, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
            }
            w.commit();
        }
        return file;
    }

    private Path writeIndex(String weightMapEntries) throws IOException {
        return Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {" + weightMapEntries + "}}");
    }
}
