/**
 * Benchmarks: JMH kernel benchmarks (one projection, one layer's attention) checked against a
 * reference before timing, their table, and the serve load test. Uses runtime's public API only.
 */
package dev.woq.bench;
