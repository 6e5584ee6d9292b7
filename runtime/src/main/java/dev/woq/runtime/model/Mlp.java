package dev.woq.runtime.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.util.PairList;
import dev.woq.runtime.engine.Kernels;

/** Llama's SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}. */
public final class Mlp extends KernelBlock {
    private final Linear gate;
    private final Linear up;
    private final Linear down;

    public Mlp(Kernels kernels, Linear gate, Linear up, Linear down) {
        super(kernels);
        this.gate = gate;
        this.up = up;
        this.down = down;
        addChildBlock("gate_proj", (KernelBlock) gate);
        addChildBlock("up_proj", (KernelBlock) up);
        addChildBlock("down_proj", (KernelBlock) down);
    }

    /** x: [tokens, hidden] → [tokens, hidden]; the [tokens, intermediate] temporaries die with scope. */
    public PtNDArray apply(PtNDManager scope, PtNDArray x) {
        PtNDArray h = kernels.call(scope, "silu_mul", gate.apply(scope, x), up.apply(scope, x));
        return down.apply(scope, h);
    }

    @Override
    protected PtNDArray forward(PtNDManager scope, PtNDArray x, PairList<String, Object> params) {
        return apply(scope, x);
    }

    long weightBytes() {
        return gate.weightBytes() + up.weightBytes() + down.weightBytes();
    }
}
