package dev.woq.server;

/**
 * How the server listens and how much it takes on.
 *
 * @param apiKey null: no key needed
 * @param maxConcurrent sequences decoded together at most
 * @param queue requests waiting for a place at most; beyond it, 429
 * @param maxBodyBytes larger request bodies get 413
 * @param prefixCacheBytes native memory for the KV caches of recent prompts, which later prompts
 *     starting the same way reuse; 0: off
 */
public record ServerOptions(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes,
        long prefixCacheBytes) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_MAX_CONCURRENT = 4;
    public static final int DEFAULT_QUEUE = 16;
    public static final long DEFAULT_MAX_BODY = 1 << 20;
    /** MiB of prefix cache by default: about 8,000 positions of Llama-3-8B (128 KiB each). */
    public static final long DEFAULT_PREFIX_CACHE_MIB = 1024;

    /** With the default prefix cache. */
    public ServerOptions(String host, int port, String apiKey, int maxConcurrent, int queue, long maxBodyBytes) {
        this(host, port, apiKey, maxConcurrent, queue, maxBodyBytes, DEFAULT_PREFIX_CACHE_MIB << 20);
    }

    public ServerOptions {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be 0..65535, got " + port);
        }
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("--max-concurrent must be at least 1, got " + maxConcurrent);
        }
        if (queue < 0) {
            throw new IllegalArgumentException("--queue must be at least 0, got " + queue);
        }
        if (prefixCacheBytes < 0) {
            throw new IllegalArgumentException("--prefix-cache must be at least 0, got " + prefixCacheBytes);
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new IllegalArgumentException("--api-key is empty: give a key, or leave the option out");
        }
    }
}
