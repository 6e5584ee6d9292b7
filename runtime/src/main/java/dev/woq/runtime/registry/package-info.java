/**
 * The local model registry ({@code $WOQ_HOME/registry/<model>/<format>/}): entries made once by
 * the quantizer, atomically (temp dir, manifest last, rename), under a per-entry lock; found again
 * by source fingerprint; listed, verified and removed. {@link dev.woq.runtime.registry.ModelResolver}
 * turns a model name or directory and a weight format into the directory to load. May use
 * {@code quant}, {@code safetensors}, {@code format}.
 */
package dev.woq.runtime.registry;
