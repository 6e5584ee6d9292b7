package dev.woq.cli;

import com.google.gson.GsonBuilder;
import dev.woq.runtime.bench.ModelBenchmark.Run;
import dev.woq.runtime.bench.Spread;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of one {@code woq bench}: the machine, the settings and a row per format, as a
 * terminal table or as JSON.
 */
record BenchReport(
        String model, String engine, int threads, double bandwidthGigabytesPerSecond, int promptTokens,
        int newTokens, int runs, String date, List<BenchRow> rows) {

    String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "woq bench: %s; %d threads; prompt %d tokens, %d new tokens, %d run%s;"
                        + " memory read bandwidth %.1f GB/s%n", model, threads, promptTokens, newTokens, runs,
                runs == 1 ? "" : "s", bandwidthGigabytesPerSecond));
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {"format", "disk", "load", "TTFT", "prefill tok/s", "decode tok/s (min-max)",
            "decode GB/s", "of bandwidth", "peak RSS"});
        for (BenchRow r : rows) {
            Spread d = r.decode();
            cells.add(new String[] {
                r.format(),
                fmt("%.2f GB", r.diskBytes() / 1e9),
                fmt("%.1f s", r.loadSeconds()),
                fmt("%.2f s", r.measurement().timeToFirstTokenMillis().median() / 1e3),
                fmt("%.1f", r.measurement().prefillTokensPerSecond().median()),
                fmt("%.2f (%.2f-%.2f)", d.median(), d.min(), d.max()),
                fmt("%.1f", r.decodeGigabytesPerSecond()),
                fmt("%.0f%%", 100 * r.decodeGigabytesPerSecond() / bandwidthGigabytesPerSecond),
                fmt("%.2f GB%s", r.peakRssBytes() / 1e9, r.peakRssOwn() ? "" : "*")
            });
        }
        int[] width = new int[cells.get(0).length];
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                // Text left, numbers right, two spaces between columns.
                String pad = " ".repeat(width[i] - row[i].length());
                sb.append(i == 0 ? row[i] + pad : pad + row[i]).append(i == row.length - 1 ? "\n" : "  ");
            }
        }
        if (rows.stream().anyMatch(r -> !r.peakRssOwn())) {
            sb.append("* the kernel did not allow resetting the peak: the process's peak so far\n");
        }
        return sb.toString();
    }

    String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        m.put("engine", engine);
        m.put("threads", threads);
        m.put("memory_read_gb_per_second", bandwidthGigabytesPerSecond);
        m.put("prompt_tokens", promptTokens);
        m.put("new_tokens", newTokens);
        m.put("runs", runs);
        m.put("date", date);
        List<Map<String, Object>> formats = new ArrayList<>();
        for (BenchRow r : rows) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("dtype", r.dtype());
            f.put("format", r.format());
            f.put("dir", r.dir());
            f.put("disk_bytes", r.diskBytes());
            f.put("load_seconds", r.loadSeconds());
            f.put("time_to_first_token_ms", spread(r.measurement().timeToFirstTokenMillis()));
            f.put("prefill_tokens_per_second", spread(r.measurement().prefillTokensPerSecond()));
            f.put("decode_tokens_per_second", spread(r.decode()));
            f.put("median_decode_step_ms", r.measurement().medianStepMillis());
            f.put("weight_bytes_per_token", r.weightBytesPerToken());
            f.put("decode_weight_gb_per_second", r.decodeGigabytesPerSecond());
            f.put("decode_fraction_of_bandwidth", r.decodeGigabytesPerSecond() / bandwidthGigabytesPerSecond);
            f.put("peak_rss_bytes", r.peakRssBytes());
            f.put("peak_rss_is_this_format_alone", r.peakRssOwn());
            List<Map<String, Object>> runs = new ArrayList<>();
            for (Run run : r.measurement().runs()) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("time_to_first_token_ms", run.timeToFirstTokenNanos() / 1e6);
                x.put("prefill_tokens_per_second", run.prefillTokensPerSecond());
                x.put("decode_tokens_per_second", run.decodeTokensPerSecond());
                runs.add(x);
            }
            f.put("runs", runs);
            formats.add(f);
        }
        m.put("formats", formats);
        return new GsonBuilder().setPrettyPrinting().create().toJson(m);
    }

    private static Map<String, Double> spread(Spread s) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("median", s.median());
        m.put("min", s.min());
        m.put("max", s.max());
        return m;
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
