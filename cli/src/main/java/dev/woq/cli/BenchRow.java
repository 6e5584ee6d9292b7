package dev.woq.cli;

import dev.woq.runtime.bench.ModelBenchmark.Measurement;
import dev.woq.runtime.bench.Spread;

/**
 * What {@code woq bench} measured for one weight format.
 *
 * @param dtype the --dtypes item (bf16, int8, int4)
 * @param format the loaded model's weight format, e.g. {@code int4-g128}
 * @param dir where the weights were loaded from
 * @param diskBytes bytes of the weight files
 * @param loadSeconds loading the model (mapping, repacking)
 * @param measurement time to first token, prefill and decode over the runs
 * @param weightBytesPerToken weight bytes one decode step reads
 * @param peakRssBytes peak resident memory while this format was loaded and run
 * @param peakRssOwn true if the peak is this format's alone; false if it is the process's so far
 */
record BenchRow(
        String dtype, String format, String dir, long diskBytes, double loadSeconds, Measurement measurement,
        long weightBytesPerToken, long peakRssBytes, boolean peakRssOwn) {

    /** Weight bytes streamed per second of decode (from the median step). */
    double decodeGigabytesPerSecond() {
        return weightBytesPerToken / (measurement.medianStepMillis() / 1e3) / 1e9;
    }

    Spread decode() {
        return measurement.decodeTokensPerSecond();
    }
}
