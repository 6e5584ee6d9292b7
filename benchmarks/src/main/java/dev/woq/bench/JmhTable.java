package dev.woq.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.woq.runtime.format.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns the JSON of a JMH run of the kernel benchmarks into a markdown table: time per call and,
 * for the linears, the weight bytes streamed per second (what decode at one token is bound by).
 *
 * <pre>java -cp ... dev.woq.bench.JmhTable benchmarks/results/jmh-kernels.json</pre>
 */
public final class JmhTable {
    private JmhTable() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: JmhTable JMH_RESULT.json");
            System.exit(2);
        }
        System.out.print(table(Files.readString(Path.of(args[0]))));
    }

    /** The markdown table of a JMH JSON result. */
    public static String table(String json) {
        JsonArray results = JsonParser.parseString(json).getAsJsonArray();
        List<String> linear = new ArrayList<>();
        List<String> attention = new ArrayList<>();
        for (JsonElement e : results) {
            JsonObject r = e.getAsJsonObject();
            String name = r.get("benchmark").getAsString();
            JsonObject params = r.getAsJsonObject("params");
            JsonObject metric = r.getAsJsonObject("primaryMetric");
            double micros = toMicros(metric.get("score").getAsDouble(), metric.get("scoreUnit").getAsString());
            double error = toMicros(metric.get("scoreError").getAsDouble(), metric.get("scoreUnit").getAsString());
            String time = Double.isNaN(error)
                    ? String.format(Locale.ROOT, "%,.0f", micros)
                    : String.format(Locale.ROOT, "%,.0f ± %,.0f", micros, error);
            if (name.endsWith("LinearBenchmark.linear")) {
                String shape = params.get("shape").getAsString();
                String format = params.get("format").getAsString();
                int tokens = params.get("tokens").getAsInt();
                double gbps = weightBytes(format, shape) / (micros / 1e6) / 1e9;
                linear.add(String.format(Locale.ROOT, "| %s | %s | %d | %s | %.1f |", shape, format, tokens, time, gbps));
            } else if (name.endsWith("AttentionBenchmark.attention")) {
                // results from before the kernel parameter timed libtorch's attention
                String kernel = params.has("kernel") ? params.get("kernel").getAsString() : "libtorch";
                attention.add(String.format(Locale.ROOT, "| %s | %s | %s | %s |",
                        params.get("context").getAsString(), params.get("tokens").getAsString(), kernel, time));
            }
        }
        StringBuilder sb = new StringBuilder();
        if (!linear.isEmpty()) {
            sb.append("| matrix (out x in) | format | tokens | µs per call | weight GB/s |\n");
            sb.append("| --- | --- | --- | --- | --- |\n");
            linear.forEach(l -> sb.append(l).append('\n'));
        }
        if (!attention.isEmpty()) {
            sb.append(linear.isEmpty() ? "" : "\n");
            sb.append("| cached positions | new tokens | kernel | µs per call (one layer) |\n| --- | --- | --- | --- |\n");
            attention.forEach(l -> sb.append(l).append('\n'));
        }
        return sb.toString();
    }

    /**
     * Bytes of a matrix as the registry stores it, whichever kernel reads it: bf16; int8 codes + a
     * bf16 scale per row; int4 nibbles + a bf16 scale and zero per group of 128.
     */
    static long weightBytes(String format, String shape) {
        String[] d = shape.split("x");
        long out = Long.parseLong(d[0]);
        long in = Long.parseLong(d[1]);
        return benchFormat(format).storedBytes(out, in);
    }

    private static double toMicros(double value, String unit) {
        return switch (unit) {
            case "ns/op" -> value / 1e3;
            case "us/op" -> value;
            case "ms/op" -> value * 1e3;
            case "s/op" -> value * 1e6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + unit);
        };
    }

    /** The weight format a JMH {@code format} parameter names ({@code int4} is int4-g128; {@code -libtorch} picks the kernel, not the format). */
    /** The layouts the JMH kernels were written for: int4 with bf16 scales in groups of 128, int8 per channel. */
    static WeightFormat benchFormat(String format) {
        String dtype = format.replace("-libtorch", "");
        return switch (dtype) {
            case "int4" -> new WeightFormat.Int4(WeightFormat.DEFAULT_GROUP_SIZE);
            case "int8" -> WeightFormat.INT8;
            default -> WeightFormat.parse(dtype, null);
        };
    }
}
