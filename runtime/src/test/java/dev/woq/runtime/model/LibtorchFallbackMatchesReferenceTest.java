package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.woq.runtime.engine.NativeKernels;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.quant.Int8WeightOnly;
import dev.woq.runtime.quant.QuantRecipe;
import dev.woq.runtime.quant.Quantizer;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model on libtorch's kernels only, as it runs where the CPU lacks AVX-512 BF16 or with
 * {@code WOQ_KERNELS=libtorch}: {@link LlamaModel#load(TorchRuntime, Path, NativeKernels)} with
 * {@link NativeKernels#none()}, every format, against the fp32 {@link ReferenceLlama} at every
 * prompt position (decode) and after a whole-prompt prefill, with
 * {@link LlamaModelMatchesReferenceTest}'s bounds. For int8 and int4 the reference runs on the
 * dequantized weights of the same entry, so it checks the fallback computes the quantized model,
 * not merely something close to its bf16 source.
 */
class LibtorchFallbackMatchesReferenceTest {
    static final int[] PROMPT = LlamaModelMatchesReferenceTest.PROMPT;

    @TempDir
    Path tmp;

    @Test
    void bf16OnLibtorchMatchesReference() {
        Path dir = TestCheckpoints.tiny();
        compare(dir, null, "bf16");
    }

    @Test
    void int8G32OnLibtorchMatchesReferenceOnDequantizedWeights() throws IOException {
        QuantRecipe recipe = QuantRecipe.parse("int8", null, false);
        compare(quantize(recipe), recipe, "int8-g32");
    }

    @Test
    void int8PerChannelOnLibtorchMatchesReferenceOnDequantizedWeights() throws IOException {
        QuantRecipe recipe = new Int8WeightOnly(true);
        compare(quantize(recipe), recipe, "int8");
    }

    @Test
    void int4Group128OnLibtorchMatchesReferenceOnDequantizedWeights() throws IOException {
        QuantRecipe recipe = QuantRecipe.parse("int4", 128, false);
        compare(quantize(recipe), recipe, "int4-g128");
    }

    @Test
    void int4Group32OnLibtorchMatchesReferenceOnDequantizedWeights() throws IOException {
        QuantRecipe recipe = QuantRecipe.parse("int4", 32, false);
        compare(quantize(recipe), recipe, "int4-g32");
    }

    private Path quantize(QuantRecipe recipe) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(recipe.id()));
        Quantizer.quantize(TestCheckpoints.tiny(), dir, recipe, Quantizer.Progress.NONE);
        return dir;
    }

    private static void compare(Path dir, QuantRecipe recipe, String format) {
        float[][] ref = new ReferenceLlama(LlamaConfig.load(dir), SafetensorsCheckpoint.open(dir), recipe).logits(PROMPT);
        try (LlamaModel model = LlamaModel.load(TorchRuntime.start(2), dir, NativeKernels.none());
                InferenceSession s = model.newSession(PROMPT.length)) {
            assertEquals(format, model.weightFormat());
            for (int i = 0; i < PROMPT.length; i++) {
                float[] logits = i == 0 ? s.prefill(new int[] {PROMPT[0]}) : s.decode(PROMPT[i]);
                LlamaModelMatchesReferenceTest.assertClose(ref[i], logits, format + " on libtorch, position " + i);
            }
            s.reset();
            LlamaModelMatchesReferenceTest.assertClose(ref[PROMPT.length - 1], s.prefill(PROMPT),
                    format + " on libtorch, whole-prompt prefill");
        }
    }
}
