package dev.woq.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class QuantizerTest {
    @TempDir
    Path temp;

    /**
     * Checks that {@code out} holds exactly the tensors {@code recipe} writes for {@code source}
     * (the unquantized ones copied, each quantized one as its format's tensors) and that each
     * tensor whose size is a multiple of {@link Quantizer#TENSOR_ALIGNMENT} starts on such a
     * boundary, as the kernels' vector loads want.
     */
    static void assertLayout(LlamaConfig config, SafetensorsCheckpoint source, QuantRecipe recipe, SafetensorsCheckpoint out) {
        Set<String> quantized = Set.copyOf(Quantizer.quantizedWeights(config, recipe));
        Set<String> expected = new java.util.TreeSet<>();
        for (String name : source.names()) {
            if (!quantized.contains(name)) {
                expected.add(name);
                continue;
            }
            for (WeightFormat.StoredTensor t : recipe.format().storedTensors(name, 1, 1)) {
                expected.add(t.name());
            }
        }
        assertEquals(expected, new java.util.TreeSet<>(out.names()));
        for (TensorInfo t : out.tensors()) {
            if (t.byteLength() % Quantizer.TENSOR_ALIGNMENT == 0) {
                assertEquals(0, t.fileOffset() % Quantizer.TENSOR_ALIGNMENT, t.name() + " at " + t.fileOffset());
            }
        }
    }

    /**
     * int4-q32 (both searches) and int8-g32 on the tiny checkpoint: the format's tensors with their
     * dtypes and shapes, 64-byte aligned where their sizes allow; every weight within its
     * group's bound, computed here from the source values alone: round-to-nearest int4-q32 within
     * half of a step at most 4.5 % above {@code (hi - lo) / 15} (the range with zero in it), the
     * MSE search within 30 % of the range (it may clip an extreme weight: its candidate ranges cut
     * up to 20 % at an end before refitting), int8-g32 within 4 % of the group's {@code max|w|}
     * (half a step, or a top weight clipped by a scale up to four bf16 steps below max|w| / 127).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"int4-q32", "int4-q32-rtn", "int8-g32"})
    void newFormatsQuantizeTheTinyCheckpointWithinTheirGroupBounds(String id) throws IOException {
        QuantRecipe recipe = switch (id) {
            case "int4-q32" -> new Int4Q32WeightOnly(true, Int4Search.MSE);
            case "int4-q32-rtn" -> new Int4Q32WeightOnly(true, Int4Search.NONE);
            default -> new Int8G32WeightOnly(true);
        };
        Path src = TestCheckpoints.tiny();
        Path dst = Files.createDirectory(temp.resolve("q"));
        Quantizer.quantize(src, dst, recipe, Quantizer.Progress.NONE);
        LlamaConfig config = LlamaConfig.load(src);
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(src);
        SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
        assertLayout(config, source, recipe, out);
        assertEquals(recipe, QuantRecipe.fromJson(JsonParser.parseString(
                Files.readString(dst.resolve(QuantRecipe.FILE_NAME))).getAsJsonObject()));
        for (String name : Quantizer.quantizedWeights(config, recipe)) {
            TensorInfo t = source.tensor(name);
            int n = Math.toIntExact(t.shape().get(0));
            int k = Math.toIntExact(t.shape().get(1));
            for (WeightFormat.StoredTensor st : recipe.format().storedTensors(name, n, k)) {
                assertLayout(out.tensor(st.name()), st.dtype(), st.shape());
            }
            float[] w = TensorRows.readRows(t, 0, n);
            float[] dq = TensorRows.dequantizeRows(out, recipe, name, 0, n);
            for (int g = 0; g < w.length / 32; g++) {
                float lo = 0;
                float hi = 0;
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    lo = Math.min(lo, w[g * 32 + j]);
                    hi = Math.max(hi, w[g * 32 + j]);
                    amax = Math.max(amax, Math.abs(w[g * 32 + j]));
                }
                double step = 1.045 * (hi - lo) / 15;
                double bound = recipe instanceof Int8G32WeightOnly ? 0.04 * amax
                        : ((Int4Q32WeightOnly) recipe).search() == Int4Search.NONE ? step / 2 : 0.3 * (hi - lo);
                for (int j = 0; j < 32; j++) {
                    int i = g * 32 + j;
                    assertTrue(Math.abs(w[i] - dq[i]) <= bound + 1e-6 * amax,
                            () -> name + " weight " + i + ": " + w[i] + " -> " + dq[i] + ", bound " + bound);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.woq.runtime.quant.Recipes#all")
    void quantizesTheTinyCheckpointIntoTheDocumentedLayout(QuantRecipe recipe) throws IOException {
        Path src = TestCheckpoints.tiny();
        Path dst = Files.createDirectory(temp.resolve("q"));
        List<long[]> updates = new ArrayList<>();
        Quantizer.Report report = Quantizer.quantize(src, dst, recipe,
                (t, tt, b, bt) -> updates.add(new long[] {t, tt, b, bt}));

        LlamaConfig config = LlamaConfig.load(src);
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(src);
        SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
        assertLayout(config, source, recipe, out);
        assertEquals(out.names().size(), report.tensors());
        assertEquals(source.totalBytes(), report.bytesRead());
        assertTrue(report.bytesWritten() > out.totalBytes(), report.toString());
        long[] last = updates.get(updates.size() - 1);
        assertArrayEquals(new long[] {source.names().size(), source.names().size(), source.totalBytes(),
            source.totalBytes()}, last);
        for (int i = 1; i < updates.size(); i++) {
            assertTrue(updates.get(i)[0] >= updates.get(i - 1)[0] && updates.get(i)[2] >= updates.get(i - 1)[2]);
        }

        // Files beside the weights.
        assertEquals(Files.readString(src.resolve("config.json")), Files.readString(dst.resolve("config.json")));
        assertEquals(Files.readString(src.resolve("generation_config.json")),
                Files.readString(dst.resolve("generation_config.json")));
        assertEquals(recipe, QuantRecipe.fromJson(JsonParser.parseString(
                Files.readString(dst.resolve(QuantRecipe.FILE_NAME))).getAsJsonObject()));
        try (Stream<Path> files = Files.list(dst)) {
            assertEquals(Set.of("model.safetensors", "config.json", "generation_config.json", QuantRecipe.FILE_NAME),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
        }

        // Dtypes and shapes; the quantized weights are within the bound; the others are unchanged.
        Set<String> quantized = Set.copyOf(Quantizer.quantizedWeights(config, recipe));
        assertTrue(quantized.contains(LlamaWeights.LM_HEAD));
        assertEquals(7 * config.numLayers() + 1, quantized.size());
        for (TensorInfo t : source.tensors()) {
            long n = t.shape().get(0);
            if (quantized.contains(t.name())) {
                long k = t.shape().get(1);
                TensorInfo q = out.tensor(Quantizer.qweightName(t.name()));
                TensorInfo s = out.tensor(Quantizer.scalesName(t.name()));
                if (recipe instanceof Int4WeightOnly r4) {
                    assertLayout(q, SafetensorsDtype.U8, n, k / 2);
                    assertLayout(s, SafetensorsDtype.BF16, n, k / r4.groupSize());
                    assertLayout(out.tensor(Quantizer.zerosName(t.name())), SafetensorsDtype.BF16, n, k / r4.groupSize());
                } else {
                    assertLayout(q, SafetensorsDtype.I8, n, k);
                    assertLayout(s, SafetensorsDtype.BF16, n);
                }
                assertFalse(out.contains(t.name()));
                assertDequantizesWithinBound(source, out, recipe, t);
            } else {
                TensorInfo o = out.tensor(t.name());
                assertEquals(SafetensorsDtype.BF16, o.dtype());
                assertEquals(t.shape(), o.shape());
                int rows = (int) n;
                assertArrayEquals(TensorRows.readRows(t, 0, rows), TensorRows.readRows(o, 0, rows), 0f, t.name());
            }
        }
    }

    static void assertLayout(TensorInfo t, SafetensorsDtype dtype, long... shape) {
        assertEquals(dtype, t.dtype(), t.name());
        assertArrayEquals(shape, t.shapeArray(), t.name());
    }

    /** Every element of {@code t}, in blocks of rows, against the bound of {@link Recipes#bound}. */
    static void assertDequantizesWithinBound(
            SafetensorsCheckpoint source, SafetensorsCheckpoint out, QuantRecipe recipe, TensorInfo t) {
        int n = (int) (long) t.shape().get(0);
        int k = (int) (long) t.shape().get(1);
        int g = recipe instanceof Int4WeightOnly r4 ? r4.groupSize() : k;
        TensorInfo scales = out.tensor(Quantizer.scalesName(t.name()));
        TensorInfo zeros = recipe instanceof Int4WeightOnly ? out.tensor(Quantizer.zerosName(t.name())) : null;
        double worst = 0;
        for (int r0 = 0; r0 < n; r0 += 8192) {
            int rows = Math.min(8192, n - r0);
            float[] w = TensorRows.readRows(t, r0, rows);
            float[] dq = TensorRows.dequantizeRows(out, recipe, t.name(), r0, rows);
            float[] s = TensorRows.readRows(scales, r0, rows);
            float[] z = zeros == null ? null : TensorRows.readRows(zeros, r0, rows);
            int perRow = k / g;
            for (int i = 0; i < w.length; i++) {
                int group = (i / k) * perRow + (i % k) / g;
                float zero = z == null ? 0f : z[group];
                double err = Math.abs((double) w[i] - dq[i]);
                double bound = Recipes.bound(recipe, w[i], s[group], zero);
                if (!(err <= bound)) {
                    throw new AssertionError(String.format(Locale.ROOT, "%s %s [%d, %d]: |w - w'| = %g > bound %g",
                            recipe.id(), t.name(), r0 + i / k, i % k, err, bound));
                }
                worst = Math.max(worst, err / s[group]);
            }
        }
        assertTrue(worst > 0.3, "errors up to half a step are expected, worst was " + worst + " steps");
    }

    @ParameterizedTest
    @MethodSource("dev.woq.runtime.quant.Recipes#all")
    void keepingTheLmHeadLeavesItBf16(QuantRecipe recipe) throws IOException {
        QuantRecipe keep = recipe instanceof Int4WeightOnly r4 ? new Int4WeightOnly(r4.groupSize(), false, r4.search())
                : new Int8WeightOnly(false);
        Path src = TestCheckpoints.tiny();
        Path dst = Files.createDirectory(temp.resolve("q"));
        Quantizer.quantize(src, dst, keep, Quantizer.Progress.NONE);
        SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
        TensorInfo head = out.tensor(LlamaWeights.LM_HEAD);
        assertEquals(SafetensorsDtype.BF16, head.dtype());
        assertFalse(out.contains(Quantizer.qweightName(LlamaWeights.LM_HEAD)));
        assertFalse(out.contains(Quantizer.scalesName(LlamaWeights.LM_HEAD)));
        TensorInfo original = SafetensorsCheckpoint.open(src).tensor(LlamaWeights.LM_HEAD);
        assertArrayEquals(TensorRows.readRows(original, 0, 4096), TensorRows.readRows(head, 0, 4096), 0f);
        assertTrue(out.contains(Quantizer.qweightName(LlamaWeights.layer(1).down())));
        assertEquals(keep, QuantRecipe.fromJson(JsonParser.parseString(
                Files.readString(dst.resolve(QuantRecipe.FILE_NAME))).getAsJsonObject()));
    }

    /**
     * Across shards, every tensor whose size is a multiple of 64 bytes starts on a 64-byte
     * boundary: int4-q32's 4-byte scale_max tensors, written among the codes, put the next matrix's
     * codes 4 bytes off, which cost its decode a quarter of its speed; they now go last.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"int8", "int4-q32"})
    void codesStay64ByteAlignedAcrossShards(String id) throws IOException {
        QuantRecipe recipe = id.equals("int8") ? new Int8WeightOnly() : new Int4Q32WeightOnly(true, Int4Search.NONE);
        Path dst = Files.createDirectory(temp.resolve("q"));
        Quantizer.quantize(TestCheckpoints.tiny(), dst, recipe, 12_000_000L, Quantizer.Progress.NONE);
        assertTrue(Files.exists(dst.resolve("model.safetensors.index.json")));
        SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
        assertTrue(out.files().size() >= 2, out.files().toString());
        long qweights = 0;
        for (TensorInfo t : out.tensors()) {
            if (t.byteLength() % Quantizer.TENSOR_ALIGNMENT == 0) {
                assertEquals(0, t.fileOffset() % Quantizer.TENSOR_ALIGNMENT, t.name() + " at " + t.fileOffset());
            }
            if (t.name().endsWith(".qweight")) {
                qweights++;
                assertEquals(0, t.byteLength() % Quantizer.TENSOR_ALIGNMENT, t.name());
            }
        }
        assertEquals(15, qweights);
    }

    /** hidden 96, intermediate 192, vocab 250, one layer: fits int4 g32 and int8's K, but not g128 nor the int4 head. */
    private Path oddCheckpoint() throws IOException {
        Path tokenizer = Files.writeString(temp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}\n");
        LlamaConfig c = new LlamaConfig(96, 3, 1, 32, 192, 1, 1e-5, 500000.0, null, 250, 512, false, 1, List.of(2),
                "bfloat16");
        Path src = temp.resolve("odd");
        SyntheticCheckpoint.write(src, c, 3, 0.05, tokenizer, SyntheticCheckpoint.DEFAULT_SHARD_BYTES,
                SyntheticCheckpoint.Progress.NONE);
        return src;
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aShapeTheRecipeCannotTakeFailsBeforeWritingAnything() throws IOException {
        Path src = oddCheckpoint();
        Path dst = Files.createDirectory(temp.resolve("q"));
        ConfigException e = assertThrows(ConfigException.class,
                () -> Quantizer.quantize(src, dst, new Int4WeightOnly(128), Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("'model.layers.0.mlp.down_proj.weight'")
                && e.getMessage().contains("[96, 192]") && e.getMessage().contains("group size 128"), e.getMessage());
        assertEquals(List.of(), list(dst));

        AtomicLong updates = new AtomicLong();
        e = assertThrows(ConfigException.class,
                () -> Quantizer.quantize(src, dst, new Int4WeightOnly(32), (a, b, c, d) -> updates.incrementAndGet()));
        assertTrue(e.getMessage().contains("'lm_head.weight'") && e.getMessage().contains("[250, 96]")
                && e.getMessage().contains("keep the LM head in bf16"), e.getMessage());
        assertEquals(List.of(), list(dst));
        assertEquals(0, updates.get());
    }

    @Test
    void keepingAnUnpackableLmHeadInBf16QuantizesTheRestAndCopiesTheTokenizer() throws IOException {
        Path src = oddCheckpoint();
        Path dst = Files.createDirectory(temp.resolve("q"));
        QuantRecipe recipe = QuantRecipe.parse("int4", 32, true, Int4Search.NONE); // its analytic bound is checked below
        Quantizer.quantize(src, dst, recipe, Quantizer.Progress.NONE);
        assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json", QuantRecipe.FILE_NAME), list(dst));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            assertEquals(Files.readString(src.resolve(f)), Files.readString(dst.resolve(f)), f);
        }
        SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
        assertEquals(SafetensorsDtype.BF16, out.tensor(LlamaWeights.LM_HEAD).dtype());
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(src);
        for (String p : LlamaWeights.layer(0).projections()) {
            assertDequantizesWithinBound(source, out, recipe, source.tensor(p));
        }
    }

    @Test
    void mseSearchWritesTheSameLayoutWithLessErrorThanRoundToNearest() throws IOException {
        Path src = TestCheckpoints.tiny();
        SafetensorsCheckpoint source = SafetensorsCheckpoint.open(src);
        double[] noise = new double[2];
        Int4WeightOnly[] recipes = {Recipes.rtn(128), new Int4WeightOnly(128, true, Int4Search.MSE)};
        for (int i = 0; i < 2; i++) {
            Path dst = Files.createDirectory(temp.resolve("q" + i));
            Quantizer.quantize(src, dst, recipes[i], Quantizer.Progress.NONE);
            SafetensorsCheckpoint out = SafetensorsCheckpoint.open(dst);
            for (String p : LlamaWeights.layer(1).projections()) {
                TensorInfo t = source.tensor(p);
                int n = Math.toIntExact(t.shape().get(0));
                assertEquals(out.tensor(Quantizer.qweightName(p)).shape(), List.of(t.shape().get(0), t.shape().get(1) / 2));
                float[] w = TensorRows.readRows(t, 0, n);
                float[] dq = TensorRows.dequantizeRows(out, recipes[i], p, 0, n);
                for (int j = 0; j < w.length; j++) {
                    noise[i] += (double) (w[j] - dq[j]) * (w[j] - dq[j]);
                }
            }
        }
        assertTrue(noise[1] < noise[0] * 0.95, "mse squared error " + noise[1] + " vs rtn " + noise[0]);
    }

    @Test
    void aNonFiniteWeightFailsNamingItsPlaceAndLeavesTheTargetEmpty() throws IOException {
        Path src = oddCheckpoint();
        TensorInfo up = SafetensorsCheckpoint.open(src).tensor(LlamaWeights.layer(0).up());
        try (FileChannel ch = FileChannel.open(up.file(), StandardOpenOption.WRITE)) {
            long element = 5L * 96 + 7; // row 5, column 7
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xC0, (byte) 0x7F}), up.fileOffset() + 2 * element); // NaN
        }
        Path dst = Files.createDirectory(temp.resolve("q"));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Quantizer.quantize(src, dst, new Int8WeightOnly(), Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("'" + up.name() + "'") && e.getMessage().contains("NaN")
                && e.getMessage().contains("[5, 7]"), e.getMessage());
        assertEquals(List.of(), list(dst));
    }

    @Test
    void refusesATargetThatIsMissingOrNotEmpty() throws IOException {
        Path src = oddCheckpoint();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Quantizer.quantize(src, temp.resolve("missing"), new Int8WeightOnly(), Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Path dst = Files.createDirectory(temp.resolve("q"));
        Files.writeString(dst.resolve("notes.txt"), "mine");
        e = assertThrows(CheckpointException.class,
                () -> Quantizer.quantize(src, dst, new Int8WeightOnly(), Quantizer.Progress.NONE));
        assertTrue(e.getMessage().contains("not empty") && e.getMessage().contains("notes.txt"), e.getMessage());
        assertEquals(List.of("notes.txt"), list(dst));
    }
}
