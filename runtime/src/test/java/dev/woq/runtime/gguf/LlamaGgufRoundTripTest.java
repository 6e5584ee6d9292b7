package dev.woq.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.model.TestCheckpoints;
import dev.woq.runtime.quant.Int8WeightOnly;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.quant.TensorRows;
import dev.woq.runtime.quant.WeightCodec;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.TensorInfo;
import dev.woq.tokenizer.Llama3Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** woq's exporter and importer against each other and against the checkpoints they came from. */
class LlamaGgufRoundTripTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13};

    @TempDir
    Path dir;

    @Test
    void bf16ExportHasLlamaCppMetadataNamesAndPermutedRows() throws IOException {
        Path src = withTokenizer(TestCheckpoints.tiny());
        LlamaConfig c = LlamaConfig.load(src);
        Path file = dir.resolve("tiny.gguf");
        LlamaGgufExporter.Report report = LlamaGgufExporter.export(src, WeightFormat.BF16, file, "tiny", (a, b) -> {});
        assertEquals(Files.size(file), report.bytes());
        assertEquals(List.of(), report.notes());
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals("llama", r.requireString(GgufKeys.ARCHITECTURE));
            assertEquals(c.hiddenSize(), r.requireLong("llama.embedding_length"));
            assertEquals(c.numKvHeads(), r.requireLong("llama.attention.head_count_kv"));
            assertEquals(c.headDim(), r.requireLong("llama.rope.dimension_count"));
            assertEquals(500000.0, r.value("llama.rope.freq_base").orElseThrow().asDouble());
            assertEquals(GgufKeys.FILE_TYPE_MOSTLY_BF16, r.requireLong(GgufKeys.FILE_TYPE));
            assertEquals("gpt2", r.requireString(GgufKeys.TOKENIZER_MODEL));
            assertEquals("llama-bpe", r.requireString(GgufKeys.TOKENIZER_PRE));
            List<?> tokens = r.value(GgufKeys.TOKENS).orElseThrow().asList();
            assertEquals(128256, tokens.size());
            assertEquals("<|begin_of_text|>", tokens.get(128000));
            assertEquals("<|eot_id|>", tokens.get(128009));
            assertEquals(GgufKeys.TOKEN_CONTROL, r.value(GgufKeys.TOKEN_TYPE).orElseThrow().asList().get(128009));
            assertEquals(GgufKeys.TOKEN_NORMAL, r.value(GgufKeys.TOKEN_TYPE).orElseThrow().asList().get(1000));
            assertEquals(280147, r.value(GgufKeys.MERGES).orElseThrow().asList().size());
            assertEquals(128000, r.requireLong(GgufKeys.BOS_ID));
            assertEquals(128009, r.requireLong(GgufKeys.EOS_ID));
            assertEquals(2 + 9 * c.numLayers() + 1, r.tensors().size());
            assertEquals(GgufType.F32, r.tensor("blk.0.attn_norm.weight").orElseThrow().type());
            assertEquals(GgufType.BF16, r.tensor("token_embd.weight").orElseThrow().type());
            GgufTensorInfo q = r.tensor("blk.1.attn_q.weight").orElseThrow();
            assertArrayEquals(new long[] {c.hiddenSize(), c.queryWidth()}, q.dims());
            // GGUF row 1 is Hugging Face row headDim / 2: the first pair of head 0's rotation
            SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(src);
            float[] hf = hfRows(ckpt.tensor(LlamaWeights.layer(1).q()), c.hiddenSize());
            float[] gg = GgufReader.dequantizeRows(q, r.data(q), 0, (int) q.rows());
            int k = c.hiddenSize();
            for (int row = 0; row < c.queryWidth(); row++) {
                int hfRow = LlamaTensorNames.hfRowOfGgufRow(row, c.headDim());
                for (int col = 0; col < k; col += 17) {
                    assertEquals(hf[hfRow * k + col], gg[row * k + col], "row " + row + " col " + col);
                }
            }
            assertEquals(c.headDim() / 2, LlamaTensorNames.hfRowOfGgufRow(1, c.headDim()));
        }
    }

    @Test
    void permutationAndItsInverseAreOneToOne() {
        for (int headDim : new int[] {32, 64, 128}) {
            boolean[] hit = new boolean[4 * headDim];
            for (int r = 0; r < 4 * headDim; r++) {
                int hf = LlamaTensorNames.hfRowOfGgufRow(r, headDim);
                assertFalse(hit[hf]);
                hit[hf] = true;
                assertEquals(r, LlamaTensorNames.ggufRowOfHfRow(hf, headDim));
            }
        }
    }

    @Test
    void bf16ExportThenImportGivesIdenticalWeightsTokenizerAndLogits() throws IOException {
        Path src = withTokenizer(TestCheckpoints.tiny());
        Path file = dir.resolve("tiny.gguf");
        LlamaGgufExporter.export(src, WeightFormat.BF16, file, "tiny", (a, b) -> {});
        Path imported = dir.resolve("imported");
        LlamaGgufImporter.Report report = LlamaGgufImporter.importTo(file, imported, false, (a, b) -> {});
        assertEquals(LlamaConfig.load(src), report.config());
        assertEquals(LlamaConfig.load(src), LlamaConfig.load(imported));
        // bf16 tensors come back bit for bit; the F32 norms were widened from bf16, so they are exact too
        assertTrue(Double.isInfinite(report.toBf16().get(GgufType.BF16).db()));
        assertTrue(Double.isInfinite(report.toBf16().get(GgufType.F32).db()));
        SafetensorsCheckpoint a = SafetensorsCheckpoint.open(src);
        SafetensorsCheckpoint b = SafetensorsCheckpoint.open(imported);
        assertEquals(a.names(), b.names());
        for (String name : a.names()) {
            assertArrayEquals(bytes(a.tensor(name)), bytes(b.tensor(name)), name);
        }
        String text = "Hello, world! <|start_header_id|>user<|end_header_id|>\n\n 12345 ünïcödé  spaces\tand\ttabs";
        try (Llama3Tokenizer original = Llama3Tokenizer.load(src.resolve("tokenizer.json"));
                Llama3Tokenizer rebuilt = Llama3Tokenizer.load(imported.resolve("tokenizer.json"))) {
            assertArrayEquals(original.encodeWithSpecialTokens(text), rebuilt.encodeWithSpecialTokens(text));
            assertArrayEquals(original.encode(text), rebuilt.encode(text));
            assertEquals(original.vocabSize(), rebuilt.vocabSize());
        }
        assertArrayEquals(logits(src), logits(imported));
    }

    @Test
    void llama31ScalingAndTiedEmbeddingsSurviveTheRoundTrip() {
        Path src = withTokenizer(TestCheckpoints.tinyLlama31Tied());
        Path file = dir.resolve("tiny31.gguf");
        LlamaGgufExporter.export(src, WeightFormat.BF16, file, "tiny31", (a, b) -> {});
        try (GgufReader r = GgufReader.open(file)) {
            assertTrue(r.tensor("output.weight").isEmpty(), "tied: llama.cpp reuses token_embd");
            GgufTensorInfo f = r.tensor(LlamaTensorNames.ROPE_FREQS).orElseThrow();
            float[] factors = GgufReader.dequantizeRows(f, r.data(f), 0, 1);
            assertEquals(1f, factors[0]); // the highest frequency is not scaled
            assertEquals(8f, factors[factors.length - 1]); // the lowest by the factor
        }
        Path imported = dir.resolve("imported31");
        LlamaGgufImporter.Report report = LlamaGgufImporter.importTo(file, imported, false, (a, b) -> {});
        LlamaConfig expected = LlamaConfig.load(src);
        // GGUF holds one eos id; the rest of the config comes back as it was
        assertEquals(new LlamaConfig(expected.hiddenSize(), expected.numHeads(), expected.numKvHeads(), expected.headDim(),
                expected.intermediateSize(), expected.numLayers(), expected.rmsNormEps(), expected.ropeTheta(),
                expected.ropeScaling(), expected.vocabSize(), expected.maxPositionEmbeddings(), true,
                expected.bosTokenId(), List.of(128001), expected.torchDtype()), report.config());
        assertArrayEquals(logits(src), logits(imported));
    }

    @Test
    void int8EntryExportsAsQ8_0WithTheSameValues() {
        Path src = withTokenizer(TestCheckpoints.tiny());
        Path entry = dir.resolve("int8");
        try {
            Files.createDirectory(entry);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Int8WeightOnly recipe = new Int8WeightOnly(true);
        Quantizer.quantize(src, entry, recipe, Quantizer.Progress.NONE);
        Path file = dir.resolve("tiny-q8.gguf");
        LlamaGgufExporter.Report report = LlamaGgufExporter.export(entry, WeightFormat.INT8, file, "tiny", (a, b) -> {});
        assertEquals(GgufType.Q8_0, report.projectionType());
        assertEquals(0, report.requantizedRows(), "every scale of this model is an fp16 value");
        SafetensorsCheckpoint q = SafetensorsCheckpoint.open(entry);
        LlamaConfig c = LlamaConfig.load(entry);
        try (GgufReader r = GgufReader.open(file)) {
            for (String hf : Quantizer.quantizedWeights(c, recipe)) {
                GgufTensorInfo t = r.tensor(LlamaTensorNames.toGguf(hf)).orElseThrow();
                assertEquals(GgufType.Q8_0, t.type(), hf);
                int rows = (int) t.rows();
                int k = (int) t.rowLength();
                float[] woq = TensorRows.dequantizeRows(q, recipe, hf, 0, rows);
                ByteBuffer data = r.data(t);
                for (int row = 0; row < rows; row++) {
                    float[] gg = LlamaGgufImporter.hfRow(t, data, hf, row, c);
                    for (int col = 0; col < k; col++) {
                        assertEquals(woq[row * k + col], gg[col], hf + " row " + row + " col " + col);
                    }
                }
            }
        }
        // and back: the Q8_0 values in bf16 cost only bf16's rounding of code * scale
        LlamaGgufImporter.Report back = LlamaGgufImporter.importTo(file, dir.resolve("back"), false, (a, b) -> {});
        double db = back.toBf16().get(GgufType.Q8_0).db();
        assertTrue(db > 45 && db < 70, "bf16 rounding of Q8_0 values: " + db + " dB");
    }

    /**
     * An int8-g32 entry (here the int8 entry's codes with a different power-of-two multiple of the
     * row's scale in each group) maps onto Q8_0 block for block: every value equal, except one block
     * whose scale (1.5 * 2^-26) is below fp16's range, which is requantized, counted and noted.
     */
    @Test
    void int8G32EntryExportsAsQ8_0BlockForBlockAndRequantizesScalesOutsideFp16() throws IOException {
        Path src = withTokenizer(TestCheckpoints.tiny());
        Path int8 = Files.createDirectory(dir.resolve("int8"));
        Int8WeightOnly recipe = new Int8WeightOnly(true);
        Quantizer.quantize(src, int8, recipe, Quantizer.Progress.NONE);
        LlamaConfig c = LlamaConfig.load(int8);
        List<String> quantized = Quantizer.quantizedWeights(c, recipe);
        String tiny = quantized.get(0); // its GGUF row 0, block 1 gets the scale fp16 cannot hold
        Path entry = dir.resolve("int8-g32");
        Map<String, float[]> groupScales = writeInt8G32Entry(int8, entry, tiny, c);
        Path file = dir.resolve("tiny-g32-q8.gguf");
        LlamaGgufExporter.Report report = LlamaGgufExporter.export(entry, WeightFormat.INT8_G32, file, "tiny", (a, b) -> {});
        assertEquals(GgufType.Q8_0, report.projectionType());
        assertEquals(1, report.requantizedBlocks());
        assertEquals(1, report.requantizedRows());
        assertTrue(report.notes().toString().contains("int8-g32: 1 of ") && report.notes().toString().contains("requantized"),
                report.notes().toString());
        SafetensorsCheckpoint q = SafetensorsCheckpoint.open(entry);
        try (GgufReader r = GgufReader.open(file)) {
            for (String hf : quantized) {
                GgufTensorInfo t = r.tensor(LlamaTensorNames.toGguf(hf)).orElseThrow();
                assertEquals(GgufType.Q8_0, t.type(), hf);
                int k = (int) t.rowLength();
                ByteBuffer codes = read(q.tensor(Quantizer.qweightName(hf)));
                float[] scales = groupScales.get(hf);
                ByteBuffer data = r.data(t);
                for (int row = 0; row < (int) t.rows(); row++) {
                    // hfRow undoes the Q/K permutation: row is the checkpoint's row here
                    float[] gg = LlamaGgufImporter.hfRow(t, data, hf, row, c);
                    for (int col = 0; col < k; col++) {
                        float want = codes.get(row * k + col) * scales[row * (k / 32) + col / 32];
                        if (hf.equals(tiny) && scales[row * (k / 32) + col / 32] == TINY_SCALE) {
                            // requantized: Q8_0 of values under 2^-18, in fp16 subnormal steps of 2^-24
                            assertEquals(want, gg[col], 0x1p-24 * 128, hf + " row " + row + " col " + col);
                        } else {
                            assertEquals(want, gg[col], hf + " row " + row + " col " + col);
                        }
                    }
                }
            }
        }
    }

    /** A bf16 value below fp16's normal and subnormal steps: no fp16 holds it. */
    static final float TINY_SCALE = 1.5f * 0x1p-26f;

    /**
     * int8's entry rewritten as int8-g32: the same codes, each group's scale the row's times 2^-1,
     * 2^0 or 2^1 (exact in bf16 and fp16), and in {@code tiny}'s GGUF row 0, block 1: TINY_SCALE.
     * Returns each projection's group scales [out, in/32] in the checkpoint's row order.
     */
    private static Map<String, float[]> writeInt8G32Entry(Path int8, Path entry, String tiny, LlamaConfig c)
            throws IOException {
        Files.createDirectory(entry);
        try (var files = Files.list(int8)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.endsWith(".safetensors") && !name.endsWith(".safetensors.index.json")) {
                    Files.copy(f, entry.resolve(name));
                }
            }
        }
        SafetensorsCheckpoint in = SafetensorsCheckpoint.open(int8);
        java.util.SplittableRandom random = new java.util.SplittableRandom(32);
        Map<String, float[]> groupScales = new LinkedHashMap<>();
        Map<String, ByteBuffer> data = new LinkedHashMap<>();
        List<dev.woq.runtime.safetensors.TensorDeclaration> declared = new java.util.ArrayList<>();
        for (TensorInfo t : in.tensors()) {
            ByteBuffer bytes = read(t);
            long[] shape = t.shapeArray();
            if (t.name().endsWith(".scales") && t.rank() == 1) {
                String hf = t.name().substring(0, t.name().length() - ".scales".length()) + ".weight";
                int out = (int) shape[0];
                int groups = (int) (in.tensor(Quantizer.qweightName(hf)).shapeArray()[1] / 32);
                float[] s = new float[out * groups];
                for (int row = 0; row < out; row++) {
                    float rowScale = WeightCodec.bf16ToFloat(bytes.getShort(row * 2));
                    for (int g = 0; g < groups; g++) {
                        s[row * groups + g] = rowScale * (float) Math.scalb(1.0, random.nextInt(3) - 1);
                    }
                }
                if (t.name().equals(Quantizer.scalesName(tiny))) {
                    int hfRow = LlamaTensorNames.permuted(tiny) ? LlamaTensorNames.hfRowOfGgufRow(0, c.headDim()) : 0;
                    s[hfRow * groups + 1] = TINY_SCALE;
                }
                groupScales.put(hf, s);
                bytes = ByteBuffer.allocate(s.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : s) {
                    bytes.putShort((short) (Float.floatToRawIntBits(v) >>> 16)); // bf16-exact
                }
                bytes.flip();
                shape = new long[] {out, groups};
            }
            declared.add(dev.woq.runtime.safetensors.TensorDeclaration.of(t.name(), t.dtype(), shape));
            data.put(t.name(), bytes);
        }
        try (dev.woq.runtime.safetensors.SafetensorsWriter w =
                new dev.woq.runtime.safetensors.SafetensorsWriter(entry.resolve("model.safetensors"), declared)) {
            for (Map.Entry<String, ByteBuffer> e : data.entrySet()) {
                w.writeTensor(e.getKey(), e.getValue());
            }
            w.commit();
        }
        return groupScales;
    }

    /** A tensor's bytes, little-endian. */
    private static ByteBuffer read(TensorInfo t) throws IOException {
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b, t.fileOffset() + b.position()) < 0) {
                    throw new IOException(t.file() + " ends inside " + t.name());
                }
            }
            return b.flip();
        }
    }

    @Test
    void int4ExportRequantizesToQ4_0AndSaysSo() {
        Path src = withTokenizer(TestCheckpoints.tiny());
        Path file = dir.resolve("tiny-q4.gguf");
        LlamaGgufExporter.Report report = LlamaGgufExporter.export(src, WeightFormat.INT4, file, "tiny", (a, b) -> {});
        assertEquals(GgufType.Q4_0, report.projectionType());
        assertTrue(report.notes().get(0).contains("requantized to Q4_0 from the bf16 weights"), report.notes().toString());
        Path imported = dir.resolve("q4");
        LlamaGgufImporter.importTo(file, imported, false, (a, b) -> {});
        // Q4_0 of Gaussian weights: about 4 bits of SNR less than int4-g32's, i.e. 15-20 dB
        SafetensorsCheckpoint a = SafetensorsCheckpoint.open(src);
        SafetensorsCheckpoint b = SafetensorsCheckpoint.open(imported);
        Sqnr sqnr = new Sqnr();
        String name = LlamaWeights.layer(0).up();
        int k = (int) (long) a.tensor(name).shape().get(1);
        float[] x = hfRows(a.tensor(name), k);
        float[] y = hfRows(b.tensor(name), k);
        sqnr.add(x, y, x.length);
        assertTrue(sqnr.db() > 15 && sqnr.db() < 25, "Q4_0 SQNR " + sqnr);
        try (GgufReader r = GgufReader.open(file)) {
            assertEquals(GgufKeys.FILE_TYPE_MOSTLY_Q4_0, r.requireLong(GgufKeys.FILE_TYPE));
            assertEquals(GgufType.Q4_0, r.tensor("output.weight").orElseThrow().type());
            assertEquals(GgufType.BF16, r.tensor("token_embd.weight").orElseThrow().type());
        }
    }

    @Test
    void anotherArchitectureIsRefusedByName() {
        Path file = dir.resolve("qwen.gguf");
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufKeys.ARCHITECTURE, GgufValue.string("qwen2"));
        try (GgufWriter w = new GgufWriter(file, m, List.of())) {
            w.commit();
        }
        GgufException e = assertThrows(GgufException.class,
                () -> LlamaGgufImporter.importTo(file, dir.resolve("qwen"), false, (a, b) -> {}));
        assertTrue(e.getMessage().contains("holds a 'qwen2' model; woq runs the 'llama' architecture only"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("qwen")));
    }

    /** The synthetic checkpoint's files linked beside the real Llama 3 tokenizer files. */
    private Path withTokenizer(Path model) {
        return TestCheckpoints.withTokenizer(model, dir.resolve("src-" + model.getFileName()));
    }

    private static float[] logits(Path model) {
        try (LlamaModel m = LlamaModel.load(TorchRuntime.start(2), model);
                InferenceSession s = m.newSession(PROMPT.length)) {
            return s.prefill(PROMPT);
        }
    }

    private static byte[] bytes(TensorInfo t) {
        ByteBuffer b = ByteBuffer.allocate((int) t.byteLength());
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                ch.read(b, t.fileOffset() + b.position());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return b.array();
    }

    private static float[] hfRows(TensorInfo t, int k) {
        ByteBuffer b = ByteBuffer.wrap(bytes(t)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) (t.byteLength() / 2)];
        for (int i = 0; i < out.length; i++) {
            out[i] = WeightCodec.bf16ToFloat(b.getShort(i * 2));
        }
        return out;
    }
}
