package dev.woq.runtime.quant;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.model.LlamaConfig;
import dev.woq.runtime.model.LlamaWeights;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorDeclaration;
import dev.woq.runtime.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What quantizing a checkpoint will write, decided before anything is written: every check (names,
 * dtypes, shapes, the recipe's limits, int8 alignment) happens while planning.
 *
 * @param steps the output tensors in file order, each with its source
 */
record QuantizePlan(QuantRecipe recipe, List<Step> steps, int sourceTensors, long sourceBytes) {
    /** What a step writes. */
    enum Kind { QWEIGHT, SCALES, ZEROS, SCALE_MAX, COPY }

    /** One output tensor and the source tensor it comes from. */
    record Step(Kind kind, TensorInfo source, TensorDeclaration output) {}

    /** Every output tensor, in the order they are written. */
    List<TensorDeclaration> declarations() {
        return steps.stream().map(Step::output).toList();
    }

    /**
     * Checks the whole checkpoint against the config and the recipe, then lays out every output
     * tensor: nothing is written before all of it is known to work.
     */
    static QuantizePlan of(LlamaConfig config, SafetensorsCheckpoint source, QuantRecipe recipe) {
        source.requireAll(LlamaWeights.names(config));
        Map<String, long[]> expected = new HashMap<>();
        for (LlamaWeights.Entry e : LlamaWeights.entries(config)) {
            expected.put(e.name(), e.shape());
        }
        Set<String> quantized = new LinkedHashSet<>(Quantizer.quantizedWeights(config, recipe));
        for (TensorInfo t : source.tensors()) {
            if (t.dtype() != SafetensorsDtype.BF16 && t.dtype() != SafetensorsDtype.F16
                    && t.dtype() != SafetensorsDtype.F32) {
                throw new CheckpointException("Tensor '" + t.name() + "' " + t.shape() + " in " + t.file() + " is "
                        + t.dtype() + "; woq quantizes BF16, F16 or F32 checkpoints only. Use the model's original"
                        + " Hugging Face release.");
            }
            long[] shape = expected.get(t.name());
            if (shape != null && !java.util.Arrays.equals(shape, t.shapeArray())) {
                throw new CheckpointException("Tensor '" + t.name() + "' in " + t.file() + " has shape " + t.shape()
                        + ", but config.json implies " + java.util.Arrays.toString(shape)
                        + ". The config and the weights come from different models: download them together.");
            }
            if (quantized.contains(t.name())) {
                long n = t.shape().get(0);
                long k = t.shape().get(1);
                recipe.checkShape(t.name(), n, k);
                long groups = recipe instanceof Int4WeightOnly r4 ? n * (k / r4.groupSize())
                        : recipe instanceof Int4Q32WeightOnly ? n * (k / WeightFormat.Int4Q32.GROUP_SIZE)
                        : recipe instanceof Int8G32WeightOnly ? n * (k / Int8G32WeightOnly.GROUP) : n;
                if (groups > Integer.MAX_VALUE - 16 || k > Integer.MAX_VALUE / 4) {
                    throw new ConfigException("Cannot quantize '" + t.name() + "' of shape " + t.shape() + ": it has "
                            + groups + " scales or rows of " + k + " values, more than woq's quantizer handles.");
                }
            }
        }

        List<Step> steps = new ArrayList<>();
        boolean int8 = recipe.format().dtype().equals("int8");
        if (int8) {
            // All int8 qweights first: each then starts at the data section (64-aligned) plus the
            // sizes of the qweights before it in its shard, each a multiple of 64 (checked below).
            for (TensorInfo t : source.tensors()) {
                if (quantized.contains(t.name())) {
                    WeightFormat.StoredTensor codes = recipe.format()
                            .storedTensors(t.name(), t.shape().get(0), t.shape().get(1)).get(0);
                    steps.add(new Step(Kind.QWEIGHT, t, TensorDeclaration.of(codes.name(), codes.dtype(), codes.shape())));
                }
            }
            for (int i = 0; i < steps.size() - 1; i++) {
                TensorDeclaration d = steps.get(i).output();
                if (d.byteLength() % Quantizer.INT8_ALIGNMENT != 0) {
                    throw new ConfigException("Cannot quantize '" + steps.get(i).source().name() + "' of shape "
                            + steps.get(i).source().shape() + " with int8: its qweight is " + d.byteLength()
                            + " bytes, not a multiple of " + Quantizer.INT8_ALIGNMENT + ", so the int8 weights stored after it"
                            + " would not start on " + Quantizer.INT8_ALIGNMENT + "-byte boundaries, which the int8 kernel needs."
                            + " Use int4, or run this model in bf16.");
                }
            }
        }
        for (TensorInfo t : source.tensors()) {
            if (!quantized.contains(t.name())) {
                steps.add(new Step(Kind.COPY, t, new TensorDeclaration(t.name(), SafetensorsDtype.BF16, t.shape())));
                continue;
            }
            // The layout is the format's own (WeightFormat.storedTensors); int8's codes were placed above.
            for (WeightFormat.StoredTensor stored : recipe.format().storedTensors(t.name(), t.shape().get(0), t.shape().get(1))) {
                Kind kind = switch (stored.role()) {
                    case CODES -> Kind.QWEIGHT;
                    case SCALES -> Kind.SCALES;
                    case ZEROS -> Kind.ZEROS;
                    case SCALE_MAX -> Kind.SCALE_MAX;
                    case WEIGHT -> Kind.COPY;
                };
                if (!(int8 && kind == Kind.QWEIGHT)) {
                    steps.add(new Step(kind, t, TensorDeclaration.of(stored.name(), stored.dtype(), stored.shape())));
                }
            }
        }
        return new QuantizePlan(recipe, List.copyOf(steps), source.tensors().size(), source.totalBytes());
    }

}
