package dev.woq.runtime.safetensors;

import static dev.woq.runtime.safetensors.SafetensorsFileTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointWriterTest {
    @TempDir
    Path dir;

    /** 100-byte tensors but one of 250, so a 256-byte limit gives shards [a, b], [big], [c, d]. */
    private final List<TensorDeclaration> tensors = List.of(
            TensorDeclaration.of("a", SafetensorsDtype.U8, 100),
            TensorDeclaration.of("b", SafetensorsDtype.BF16, 50),
            TensorDeclaration.of("big", SafetensorsDtype.U8, 250),
            TensorDeclaration.of("c", SafetensorsDtype.F32, 25),
            TensorDeclaration.of("d", SafetensorsDtype.I8, 10, 10));

    @Test
    void shardedWriteProducesHuggingFaceLayoutThatOpens() throws IOException {
        Path out = dir.resolve("llama-int8");
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(out, tensors, 256, Map.of("format", "pt"))) {
            assertEquals(3, w.shardCount());
            for (int i = 0; i < tensors.size(); i++) {
                w.writeTensor(tensors.get(i).name(), ByteBuffer.wrap(data(i)));
            }
            w.commit();
        }

        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), listing(out));
        JsonObject index = JsonParser.parseString(Files.readString(out.resolve("model.safetensors.index.json")))
                .getAsJsonObject();
        assertEquals(650, index.getAsJsonObject("metadata").get("total_size").getAsLong());
        JsonObject map = index.getAsJsonObject("weight_map");
        assertEquals("model-00001-of-00003.safetensors", map.get("b").getAsString());
        assertEquals("model-00002-of-00003.safetensors", map.get("big").getAsString());
        assertEquals("model-00003-of-00003.safetensors", map.get("d").getAsString());

        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(out);
        assertEquals(List.of("a", "b", "big", "c", "d"), List.copyOf(ckpt.names()));
        assertEquals(3, ckpt.files().size());
        assertEquals(650, ckpt.totalBytes());
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = ckpt.tensor(tensors.get(i).name());
            assertArrayEquals(data(i), RawFiles.read(t), t.name());
            assertEquals(Map.of("format", "pt"), SafetensorsFile.open(t.file()).metadata());
        }
        assertEquals(0, ckpt.tensor("big").fileOffset() % 64, "each shard's data starts 64-aligned");
    }

    @Test
    void oneShardIsWrittenAsModelSafetensorsWithoutIndex() throws IOException {
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, tensors,
                ShardedCheckpointWriter.DEFAULT_MAX_SHARD_BYTES)) {
            for (int i = 0; i < tensors.size(); i++) {
                w.writeTensor(tensors.get(i).name(), ByteBuffer.wrap(data(i)));
            }
            w.commit();
        }
        assertEquals(List.of("model.safetensors"), listing(dir));
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir);
        assertArrayEquals(data(4), RawFiles.read(ckpt.tensor("d")));
    }

    @Test
    void failureInALaterShardDeletesEveryFileOfTheWriter() {
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, tensors, 256)) {
            w.writeTensor("a", ByteBuffer.wrap(data(0)));
            w.writeTensor("b", ByteBuffer.wrap(data(1)));
            w.writeTensor("big", ByteBuffer.wrap(data(2)));
            w.writeTensor("c", ByteBuffer.allocate(10)); // shard 3 opened, then "c" left short
            CheckpointException e = assertThrows(CheckpointException.class, w::commit);
            assertContains(e, "'c'", "got only 10 bytes");
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void closeWithoutCommitDeletesEveryFileOfTheWriter() {
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, tensors, 256)) {
            for (int i = 0; i < tensors.size(); i++) {
                w.writeTensor(tensors.get(i).name(), ByteBuffer.wrap(data(i)));
            }
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void writingATensorOfAFinishedShardIsRejected() {
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, tensors, 256)) {
            w.writeTensor("a", ByteBuffer.wrap(data(0)));
            w.writeTensor("b", ByteBuffer.wrap(data(1)));
            w.writeTensor("big", ByteBuffer.wrap(data(2)));
            assertContains(assertThrows(CheckpointException.class, () -> w.writeTensor("a", ByteBuffer.allocate(1))),
                    "'a'", "model-00001-of-00003.safetensors", "already finished");
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void skippingTheRestOfAShardIsRejected() {
        try (ShardedCheckpointWriter w = new ShardedCheckpointWriter(dir, tensors, 256)) {
            w.writeTensor("a", ByteBuffer.wrap(data(0)));
            assertContains(assertThrows(CheckpointException.class, () -> w.writeTensor("big", ByteBuffer.wrap(data(2)))),
                    "'b'", "got no bytes");
        }
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void directoryThatAlreadyHoldsACheckpointIsRefused() throws IOException {
        Files.writeString(dir.resolve("model-00001-of-00002.safetensors"), "old");
        Files.writeString(dir.resolve("config.json"), "{}");
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> new ShardedCheckpointWriter(dir, tensors, 256));
        assertContains(e, dir.toString(), "already holds one", "model-00001-of-00002.safetensors");
    }

    @Test
    void shardsFollowHuggingFaceSplittingRule() {
        List<List<TensorDeclaration>> shards = ShardPlan.split(tensors, 256);
        List<List<String>> names = new ArrayList<>();
        shards.forEach(s -> names.add(s.stream().map(TensorDeclaration::name).toList()));
        assertEquals(List.of(List.of("a", "b"), List.of("big"), List.of("c", "d")), names);
        assertEquals(1, ShardPlan.split(tensors, 10_000).size());
        assertEquals(5, ShardPlan.split(tensors, 1).size(), "each tensor over the limit gets its own shard");
        assertEquals("model-00002-of-00012.safetensors", ShardPlan.shardName(1, 12));
        assertThrows(CheckpointException.class, () -> ShardPlan.split(tensors, 0));
    }

    private static List<String> listing(Path d) {
        try (Stream<Path> files = Files.list(d)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private byte[] data(int i) {
        return RawFiles.pattern(i + 10, (int) tensors.get(i).byteLength());
    }
}
