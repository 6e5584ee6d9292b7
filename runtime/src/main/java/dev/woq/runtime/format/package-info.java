/**
 * The weight formats woq stores and runs ({@link dev.woq.runtime.format.WeightFormat}): what
 * {@code --dtype} means everywhere. Depends on nothing but woq's exceptions.
 */
package dev.woq.runtime.format;
