package dev.woq.runtime.model;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/**
 * A DJL block whose forward pass is a call into woq's TorchScript kernels. Weights are tensors
 * mapped from the checkpoint, not DJL {@code Parameter}s: the blocks are for inference only, and
 * DJL's NDArray API cannot hold bf16.
 *
 * <p>Each block has a typed {@code forward(scope, ...)}; results are attached to {@code scope},
 * a manager the caller closes when the step is done, so no step leaks native memory. The DJL
 * {@link #forward(ParameterStore, NDList, boolean, PairList)} entry point maps onto it, with the
 * scope taken from the first input.
 */
public abstract class KernelBlock extends AbstractBlock {
    protected final Kernels kernels;

    protected KernelBlock(Kernels kernels) {
        super((byte) 1);
        this.kernels = kernels;
    }

    /** The block's step as a function of one tensor (the residual stream or its normed form). */
    protected abstract PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params);

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        PtNDArray x = (PtNDArray) inputs.singletonOrThrow();
        return new NDList(forward((PtNDManager) x.getManager(), x, params));
    }

    /** Most blocks keep the shape of their input: [tokens, hidden]. */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
