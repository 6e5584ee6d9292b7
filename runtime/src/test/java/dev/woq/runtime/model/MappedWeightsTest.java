package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.SafetensorsWriter;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading weights stored as F32, or at offsets the zero-copy mapping cannot use. */
class MappedWeightsTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296};

    @Test
    void f32CheckpointGivesTheSameLogitsAsItsBf16Source(@TempDir Path tmp) throws IOException {
        Path bf16 = TestCheckpoints.tiny();
        Path f32 = tmp.resolve("f32");
        rewrite(bf16, f32, SafetensorsDtype.F32);
        // bf16 -> f32 is exact and f32 -> bf16 gives the same bits back: identical logits.
        assertArrayEquals(lastLogits(bf16), lastLogits(f32));
    }

    @Test
    void unalignedTensorDataIsCopiedAndGivesTheSameLogits(@TempDir Path tmp) throws IOException {
        Path bf16 = TestCheckpoints.tiny();
        Path odd = tmp.resolve("odd");
        rewrite(bf16, odd, SafetensorsDtype.BF16);
        shiftDataByOneByte(odd.resolve("model.safetensors"));
        TensorInfo any = SafetensorsCheckpoint.open(odd).tensor(LlamaWeights.EMBED);
        assertTrue(any.fileOffset() % 2 == 1, "the test needs odd offsets, got " + any.fileOffset());
        assertArrayEquals(lastLogits(bf16), lastLogits(odd));
    }

    @Test
    void tensorWithTheWrongShapeIsRefusedWithItsName(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("wrong");
        rewrite(TestCheckpoints.tiny(), dir, SafetensorsDtype.BF16);
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config.replace("\"intermediate_size\": 384", "\"intermediate_size\": 512"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> lastLogits(dir));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.down_proj.weight") || e.getMessage().contains("mlp"), e.getMessage());
        assertTrue(e.getMessage().contains("384") && e.getMessage().contains("512"), e.getMessage());
    }

    private static float[] lastLogits(Path dir) {
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir);
                InferenceSession s = model.newSession(PROMPT.length)) {
            return s.prefill(PROMPT);
        }
    }

    /** Copies a single-file checkpoint, storing every tensor as {@code dtype}. */
    private static void rewrite(Path from, Path to, SafetensorsDtype dtype) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(from);
        List<TensorDeclaration> decls = new ArrayList<>();
        for (TensorInfo t : source.tensors()) {
            decls.add(TensorDeclaration.of(t.name(), dtype, t.shapeArray()));
        }
        try (SafetensorsWriter w = new SafetensorsWriter(to.resolve("model.safetensors"), decls);
                FileChannel in = FileChannel.open(source.files().get(0), StandardOpenOption.READ)) {
            for (TensorInfo t : source.tensors()) {
                ByteBuffer raw = ByteBuffer.allocate(Math.toIntExact(t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
                in.read(raw, t.fileOffset());
                raw.flip();
                ByteBuffer out;
                if (dtype == SafetensorsDtype.F32) {
                    out = ByteBuffer.allocate(raw.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
                    while (raw.hasRemaining()) {
                        out.putInt((raw.getShort() & 0xFFFF) << 16);
                    }
                    out.flip();
                } else {
                    out = raw;
                }
                w.writeTensor(t.name(), out);
            }
            w.commit();
        }
    }

    /** Grows the JSON header by one space, so every tensor starts at an odd byte. */
    private static void shiftDataByOneByte(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        byte[] newHeader = (header + " ").getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(bytes.length + 1).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(newHeader.length).put(newHeader).put(bytes, 8 + (int) n, bytes.length - 8 - (int) n);
        Files.write(file, out.array());
    }
}
