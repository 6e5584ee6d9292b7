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
 * dtypes, shapes, the recipe's limits) happens while planning, and so does the order that puts
 * each matrix's codes on a 64-byte boundary.
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
        for (TensorInfo t : source.tensors()) {
            if (!quantized.contains(t.name())) {
                steps.add(new Step(Kind.COPY, t, new TensorDeclaration(t.name(), SafetensorsDtype.BF16, t.shape())));
                continue;
            }
            // The layout is the format's own (WeightFormat.storedTensors).
            for (WeightFormat.StoredTensor stored : recipe.format().storedTensors(t.name(), t.shape().get(0), t.shape().get(1))) {
                Kind kind = switch (stored.role()) {
                    case CODES -> Kind.QWEIGHT;
                    case SCALES -> Kind.SCALES;
                    case ZEROS -> Kind.ZEROS;
                    case SCALE_MAX -> Kind.SCALE_MAX;
                    case WEIGHT -> Kind.COPY;
                };
                steps.add(new Step(kind, t, TensorDeclaration.of(stored.name(), stored.dtype(), stored.shape())));
            }
        }
        return new QuantizePlan(recipe, alignedFirst(steps), source.tensors().size(), source.totalBytes());
    }

    /**
     * The steps with every tensor whose size is a multiple of {@link Quantizer#TENSOR_ALIGNMENT}
     * first, in their order, then the rest (int4-q32's 4-byte scale_max, odd shapes), so that each
     * of the first starts on such a boundary: a shard's data starts on one, and only sizes that are
     * multiples of it lie before them. The kernels' 64-byte loads of codes that straddle two cache
     * lines cost two: int4-q32 decoded a quarter slower with its codes 4 bytes off. A matrix whose
     * codes go last takes its scales and zeros along, since they are written after their codes.
     */
    static List<Step> alignedFirst(List<Step> steps) {
        Set<TensorInfo> lateCodes = new java.util.HashSet<>();
        for (Step s : steps) {
            if (s.kind() == Kind.QWEIGHT && !aligned(s)) {
                lateCodes.add(s.source());
            }
        }
        List<Step> first = new ArrayList<>();
        List<Step> last = new ArrayList<>();
        for (Step s : steps) {
            boolean late = !aligned(s) || (s.kind() != Kind.COPY && lateCodes.contains(s.source()));
            (late ? last : first).add(s);
        }
        first.addAll(last);
        return List.copyOf(first);
    }

    private static boolean aligned(Step s) {
        return s.output().byteLength() % Quantizer.TENSOR_ALIGNMENT == 0;
    }
}
