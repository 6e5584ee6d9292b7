package dev.woq.runtime.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.engine.EngineException;
import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A compiled TorchScript kernel library ({@code LlamaOps.ts}, {@code NativeOps.ts}), called by
 * method name. Only {@link TorchOps} and {@link NativeOps} call it, each method once, so the rest
 * of woq sees typed operations. Each call costs a few microseconds of JNI overhead, so callers use one call per layer
 * step (a projection, an attention), never per element.
 *
 * <p>Arguments may be {@link NDArray} (PyTorch), {@link Long}/{@link Integer}, {@link Double},
 * {@link Boolean}, {@link String}, {@code long[]} (an {@code int[]} list in TorchScript) or
 * {@code PtNDArray[]} (a {@code Tensor[]} list).
 * Results are attached to the manager the caller passes and are freed when it closes.
 */
final class Kernels {
    static final String SOURCE = "LlamaOps.ts";
    private final PtSymbolBlock module;

    private Kernels(PtSymbolBlock module) {
        this.module = module;
    }

    static Kernels load(PtNDManager manager) {
        return load(manager, "LlamaOps", SOURCE);
    }

    /** Compiles the TorchScript class {@code className} of the resource {@code source}. */
    static Kernels load(PtNDManager manager, String className, String source) {
        Path archive = TorchRuntime.tempFile("woq-kernels-", ".pt");
        try {
            TorchScriptArchive.write(archive, className, TorchRuntime.resource(source));
            PtSymbolBlock block =
                    JniUtils.loadModule(manager, archive, true, new String[0], new String[0], false);
            return new Kernels(block);
        } catch (IOException e) {
            throw new WoqException("cannot write the kernel archive " + archive + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(archive);
            } catch (IOException ignored) {
                // deleteOnExit still applies
            }
        }
    }

    /** Calls {@code method} and returns its tensor result, attached to {@code out}. */
    PtNDArray call(PtNDManager out, String method, Object... args) {
        IValue[] inputs = new IValue[args.length];
        try {
            for (int i = 0; i < args.length; i++) {
                inputs[i] = toIValue(args[i], method, i);
            }
            IValue result;
            try {
                result = IValueUtils.runMethod(module, method, inputs);
            } catch (EngineException e) {
                throw new WoqException("kernel '" + method + "' failed: " + firstLine(e.getMessage()), e);
            }
            try {
                return result.toTensor(out);
            } finally {
                result.close();
            }
        } finally {
            for (IValue v : inputs) {
                if (v != null) {
                    v.close();
                }
            }
        }
    }

    private static IValue toIValue(Object arg, String method, int index) {
        if (arg instanceof PtNDArray) {
            return IValue.from((PtNDArray) arg);
        } else if (arg instanceof Integer || arg instanceof Long) {
            return IValue.from(((Number) arg).longValue());
        } else if (arg instanceof Double || arg instanceof Float) {
            return IValue.from(((Number) arg).doubleValue());
        } else if (arg instanceof Boolean) {
            return IValue.from((Boolean) arg);
        } else if (arg instanceof String) {
            return IValue.from((String) arg);
        } else if (arg instanceof long[]) {
            return IValue.listFrom((long[]) arg);
        } else if (arg instanceof PtNDArray[]) {
            return IValue.listFrom((PtNDArray[]) arg);
        }
        throw new IllegalArgumentException(
                "kernel '" + method + "' argument " + index + ": unsupported type "
                        + (arg == null ? "null" : arg.getClass().getName()));
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        // TorchScript's first line only says that an operation failed; the error itself (with
        // woq's operator name and shapes) is the traceback's last "RuntimeError: " line
        int error = message.lastIndexOf("\nRuntimeError: ");
        if (error >= 0) {
            String rest = message.substring(error + "\nRuntimeError: ".length());
            int end = rest.indexOf('\n');
            return end < 0 ? rest : rest.substring(0, end);
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
