package dev.woq.runtime.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** What the CPU offers that matters for speed, read from /proc/cpuinfo where it exists. */
public final class CpuInfo {
    private static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final List<String> INTERESTING =
            List.of("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8");

    private CpuInfo() {}

    /** Physical cores (distinct core ids per package); falls back to the logical count. */
    public static int physicalCores() {
        int logical = Runtime.getRuntime().availableProcessors();
        try {
            Set<String> cores = new HashSet<>();
            String physicalId = "0";
            for (String line : Files.readAllLines(CPUINFO)) {
                if (line.startsWith("physical id")) {
                    physicalId = value(line);
                } else if (line.startsWith("core id")) {
                    cores.add(physicalId + ":" + value(line));
                }
            }
            // A container may be limited to fewer CPUs than the machine has cores.
            return cores.isEmpty() ? logical : Math.max(1, Math.min(cores.size(), logical));
        } catch (IOException | RuntimeException e) {
            return logical;
        }
    }

    /** The model name and the SIMD/matrix features found, e.g. {@code avx512_bf16 amx_bf16}. */
    public static String describe() {
        try {
            String model = "unknown";
            Set<String> flags = Set.of();
            for (String line : Files.readAllLines(CPUINFO)) {
                if (line.startsWith("model name") && model.equals("unknown")) {
                    model = value(line);
                } else if (line.startsWith("flags") && flags.isEmpty()) {
                    flags = Set.of(value(line).split("\\s+"));
                }
            }
            List<String> found = new ArrayList<>();
            for (String f : INTERESTING) {
                if (flags.contains(f)) {
                    found.add(f);
                }
            }
            return model + " [" + String.join(" ", found) + "]";
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
    }

    private static String value(String line) {
        int colon = line.indexOf(':');
        return colon < 0 ? "" : line.substring(colon + 1).trim();
    }
}
