package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.synth.SyntheticPreset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LlamaConfig read from Hugging Face config.json files, and Llama 3.1's RoPE frequency scaling. */
class ConfigTest {
    /** meta-llama/Meta-Llama-3-8B-Instruct's config.json, as published. */
    static final String LLAMA3_8B_INSTRUCT = """
            {
              "architectures": [
                "LlamaForCausalLM"
              ],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": 128009,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 8192,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": null,
              "rope_theta": 500000.0,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.40.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }
            """;

    /** meta-llama/Llama-3.1-8B-Instruct's config.json, as published. */
    static final String LLAMA31_8B_INSTRUCT = """
            {
              "architectures": [
                "LlamaForCausalLM"
              ],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [
                128001,
                128008,
                128009
              ],
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3"
              },
              "rope_theta": 500000.0,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.42.3",
              "use_cache": true,
              "vocab_size": 128256
            }
            """;

    private static JsonObject json(String text) {
        return JsonParser.parseString(text).getAsJsonObject();
    }

    private static LlamaConfig parse(String text) {
        return LlamaConfig.parse(json(text));
    }

    /** Llama 3 8B Instruct's config with one edit. */
    private static JsonObject llama3With(Consumer<JsonObject> edit) {
        JsonObject j = json(LLAMA3_8B_INSTRUCT);
        edit.accept(j);
        return j;
    }

    private static void assertRefused(JsonObject config, String... named) {
        ConfigException e = assertThrows(ConfigException.class, () -> LlamaConfig.parse(config));
        for (String name : named) {
            assertTrue(e.getMessage().contains(name), "message does not name '" + name + "': " + e.getMessage());
        }
    }

    @Test
    void parsesLlama3_8BInstruct() {
        LlamaConfig c = parse(LLAMA3_8B_INSTRUCT);
        assertEquals(4096, c.hiddenSize());
        assertEquals(32, c.numHeads());
        assertEquals(8, c.numKvHeads());
        assertEquals(128, c.headDim());
        assertEquals(14336, c.intermediateSize());
        assertEquals(32, c.numLayers());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(500000.0, c.ropeTheta());
        assertNull(c.ropeScaling());
        assertEquals(128256, c.vocabSize());
        assertEquals(8192, c.maxPositionEmbeddings());
        assertEquals(false, c.tieWordEmbeddings());
        assertEquals(128000, c.bosTokenId());
        assertEquals(List.of(128009), c.eosTokenIds());
        assertEquals("bfloat16", c.torchDtype());
        assertEquals(4096, c.queryWidth());
        assertEquals(1024, c.kvWidth());
    }

    @Test
    void parsesLlama31_8BInstructWithRopeScalingAndThreeEosIds() {
        LlamaConfig c = parse(LLAMA31_8B_INSTRUCT);
        assertEquals(new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(4096, c.hiddenSize());
        assertEquals(8, c.numKvHeads());
        assertEquals(128, c.headDim());
    }

    @Test
    void theSynthetic8BPresetHasLlama3_8BInstructsShape() {
        assertEquals(parse(LLAMA3_8B_INSTRUCT), SyntheticPreset.LLAMA3_8B.config());
    }

    @Test
    void toJsonParsesBackToAnEqualConfig() {
        for (LlamaConfig c : List.of(
                parse(LLAMA3_8B_INSTRUCT), parse(LLAMA31_8B_INSTRUCT), SyntheticPreset.TINY.config(),
                LlamaConfig.load(TestCheckpoints.tinyLlama31Tied()))) {
            LlamaConfig back = parse(c.toJson());
            assertEquals(c, back, c.toJson());
        }
    }

    @Test
    void loadReadsConfigJsonFromTheModelDirectory(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), LLAMA31_8B_INSTRUCT);
        assertEquals(parse(LLAMA31_8B_INSTRUCT), LlamaConfig.load(dir));
    }

    @Test
    void loadWithoutConfigJsonSaysSo(@TempDir Path dir) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> LlamaConfig.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void loadRefusalNamesTheFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), llama3With(j -> j.addProperty("hidden_act", "gelu")).toString());
        ConfigException e = assertThrows(ConfigException.class, () -> LlamaConfig.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()) && e.getMessage().contains("gelu"),
                e.getMessage());
    }

    @Test
    void anotherArchitectureIsRefusedByName() {
        assertRefused(llama3With(j -> {
            j.remove("architectures");
            j.add("architectures", JsonParser.parseString("[\"MistralForCausalLM\"]"));
        }), "MistralForCausalLM");
    }

    @Test
    void anotherModelTypeIsRefusedByName() {
        assertRefused(llama3With(j -> j.addProperty("model_type", "mistral")), "mistral");
    }

    @Test
    void anotherActivationIsRefusedByName() {
        assertRefused(llama3With(j -> j.addProperty("hidden_act", "gelu")), "gelu");
    }

    @Test
    void biasesAreRefusedByName() {
        assertRefused(llama3With(j -> j.addProperty("attention_bias", true)), "attention_bias");
        assertRefused(llama3With(j -> j.addProperty("mlp_bias", true)), "mlp_bias");
    }

    @Test
    void otherRopeScalingTypesAreRefusedByName() {
        assertRefused(llama3With(j -> j.add("rope_scaling", json("{\"type\": \"linear\", \"factor\": 2.0}"))), "linear");
        assertRefused(llama3With(j -> j.add("rope_scaling", json("{\"rope_type\": \"dynamic\", \"factor\": 2.0}"))),
                "dynamic");
        assertRefused(llama3With(j -> j.add("rope_scaling", json("{\"rope_type\": \"yarn\", \"factor\": 4.0}"))), "yarn");
    }

    @Test
    void missingRequiredFieldIsRefusedByName() {
        assertRefused(llama3With(j -> j.remove("hidden_size")), "hidden_size");
        assertRefused(llama3With(j -> j.remove("vocab_size")), "vocab_size");
        assertRefused(llama3With(j -> j.remove("num_hidden_layers")), "num_hidden_layers");
    }

    @Test
    void llama3RopeScalingWithoutItsFactorsIsRefused() {
        assertRefused(llama3With(j -> j.add("rope_scaling", json("{\"rope_type\": \"llama3\", \"factor\": 8.0}"))),
                "low_freq_factor");
    }

    @Test
    void headDimDefaultsToHiddenOverHeads() {
        assertEquals(128, parse(LLAMA3_8B_INSTRUCT).headDim());
        assertEquals(64, LlamaConfig.parse(llama3With(j -> j.addProperty("num_attention_heads", 64))).headDim());
        LlamaConfig explicit = LlamaConfig.parse(llama3With(j -> j.addProperty("head_dim", 96)));
        assertEquals(96, explicit.headDim());
        assertEquals(32 * 96, explicit.queryWidth());
    }

    @Test
    void kvHeadsDefaultToHeads() {
        assertEquals(32, LlamaConfig.parse(llama3With(j -> j.remove("num_key_value_heads"))).numKvHeads());
    }

    @Test
    void kvHeadsThatDoNotDivideHeadsAreRefused() {
        assertRefused(llama3With(j -> j.addProperty("num_key_value_heads", 6)), "num_key_value_heads", "6");
    }

    @Test
    void nonIntegerSizesAreRefused() {
        assertRefused(llama3With(j -> j.addProperty("hidden_size", 4096.5)), "hidden_size", "4096.5");
        assertRefused(llama3With(j -> j.addProperty("vocab_size", "many")), "vocab_size");
    }

    @Test
    void inverseFrequenciesWithoutScalingAreThetaPowers() {
        LlamaConfig c = parse(LLAMA3_8B_INSTRUCT);
        double[] inv = RotaryEmbedding.inverseFrequencies(c);
        assertEquals(64, inv.length);
        for (int i : new int[] {0, 1, 17, 32, 63}) {
            double expected = Math.pow(500000.0, -i / 64.0);
            assertEquals(expected, inv[i], expected * 1e-6, "index " + i);
        }
    }

    /**
     * Hugging Face's {@code _compute_llama3_parameters}, written out for one index: frequencies
     * whose wavelength is below original/high_freq_factor are kept, those above
     * original/low_freq_factor are divided by factor, and the band between is interpolated.
     */
    private static double hfLlama3InvFreq(int i, int dim, double theta, double factor, double low, double high,
            double original) {
        double base = 1.0 / Math.pow(theta, (double) (2 * i) / dim);
        double wavelen = 2 * Math.PI / base;
        double lowFreqWavelen = original / low;
        double highFreqWavelen = original / high;
        double scaled = wavelen > lowFreqWavelen ? base / factor : base;
        double smooth = (original / wavelen - low) / (high - low);
        double smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
        return medium ? smoothed : scaled;
    }

    @Test
    void llama3RopeScalingMatchesHuggingFaceInEveryBand() {
        LlamaConfig c = parse(LLAMA31_8B_INSTRUCT);
        double[] scaled = RotaryEmbedding.inverseFrequencies(c);
        double[] plain = RotaryEmbedding.inverseFrequencies(parse(LLAMA3_8B_INSTRUCT));
        assertEquals(64, scaled.length);
        // For theta 500000 and head_dim 128 the wavelength 2*pi*500000^(i/64) crosses 2048 (8192/4)
        // between i = 28 and 29 and 8192 (8192/1) between i = 34 and 35.
        int[] high = {0, 10, 28};
        int[] medium = {29, 31, 34};
        int[] low = {35, 50, 63};
        for (int i : high) {
            assertEquals(plain[i], scaled[i], 0.0, "high frequency " + i + " is kept");
        }
        for (int i : low) {
            assertEquals(plain[i] / 8, scaled[i], plain[i] * 1e-12, "low frequency " + i + " is divided by 8");
        }
        for (int i : medium) {
            assertTrue(scaled[i] > plain[i] / 8 && scaled[i] < plain[i], "medium frequency " + i + " in between");
        }
        for (int i : new int[] {0, 10, 28, 29, 30, 31, 32, 33, 34, 35, 50, 63}) {
            double expected = hfLlama3InvFreq(i, 128, 500000.0, 8.0, 1.0, 4.0, 8192);
            assertEquals(expected, scaled[i], expected * 1e-6, "index " + i);
        }
        // The interpolation runs from unscaled to fully scaled as the frequency falls.
        for (int i = 1; i < 64; i++) {
            assertTrue(scaled[i] / plain[i] <= scaled[i - 1] / plain[i - 1], "scale at " + i + " rose");
        }
        assertNotEquals(plain[31], scaled[31]);
    }

    @Test
    void llama3RopeScalingMatchesHuggingFaceForOtherFactors() {
        // Llama 3.2-style: factor 32; and a head width of 64.
        LlamaConfig c = LlamaConfig.parse(llama3With(j -> {
            j.add("rope_scaling", json("{\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0,"
                    + " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}"));
            j.addProperty("head_dim", 64);
        }));
        double[] inv = RotaryEmbedding.inverseFrequencies(c);
        assertEquals(32, inv.length);
        for (int i = 0; i < 32; i++) {
            double expected = hfLlama3InvFreq(i, 64, 500000.0, 32.0, 1.0, 4.0, 8192);
            assertEquals(expected, inv[i], expected * 1e-6, "index " + i);
        }
    }
}
