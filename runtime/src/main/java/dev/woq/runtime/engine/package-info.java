/**
 * The engine: DJL's PyTorch engine started offline ({@link dev.woq.runtime.engine.TorchRuntime}),
 * libtorch's operations as typed Java methods ({@link dev.woq.runtime.engine.TorchOps}) and woq's
 * own native kernels ({@link dev.woq.runtime.engine.NativeOps}, loaded by
 * {@link dev.woq.runtime.engine.NativeKernels} where the CPU runs them). The only package that
 * names TorchScript methods. Knows nothing of models or checkpoints.
 */
package dev.woq.runtime.engine;
