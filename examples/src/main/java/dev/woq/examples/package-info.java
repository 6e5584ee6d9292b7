/** Small runnable programs that use woq's public Java API, each tested. Use public API only. */
package dev.woq.examples;
