package dev.woq.server;

import com.google.gson.JsonObject;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * woq's OpenAI-compatible HTTP server, on Javalin (Jetty). It listens at once and loads the model
 * in the background: {@code GET /health} answers 503 until the model is ready, then 200.
 * Completion requests go to one {@link dev.woq.runtime.generate.ContinuousBatcher}, which
 * decodes every request in flight together.
 */
public final class WoqServer implements AutoCloseable {
    private final ServerOptions options;
    private final PrintStream log;
    private final byte[] apiKeyDigest;
    private final Javalin app;
    private final CompletableFuture<ModelService> loaded = new CompletableFuture<>();
    private final Documents documents;
    private final long created = System.currentTimeMillis() / 1000;

    private WoqServer(ServerOptions options, Documents documents, PrintStream log) {
        this.options = options;
        this.documents = documents;
        this.log = log;
        this.apiKeyDigest = options.apiKey() == null ? null : sha256(options.apiKey());
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.startupWatcherEnabled = false;
            config.jetty.defaultHost = options.host();
            config.jetty.defaultPort = options.port();
            config.http.maxRequestSize = options.maxBodyBytes();
            config.jetty.threadPool = threadPool(options);
            config.requestLogger.http(this::logRequest);
        });
        CompletionHandler chat = new CompletionHandler(this, true);
        CompletionHandler completion = new CompletionHandler(this, false);
        app.before("/v1/*", this::authorize);
        app.post("/v1/chat/completions", chat::handle);
        app.post("/v1/completions", completion::handle);
        EmbeddingsHandler embeddings = new EmbeddingsHandler(documents);
        SearchHandler search = new SearchHandler(documents);
        app.post("/v1/embeddings", ctx -> embeddings.handle(ctx, body(ctx)));
        app.post("/v1/search", ctx -> search.handle(ctx, body(ctx)));
        app.get("/v1/models", ctx -> ctx.contentType("application/json").result(OpenAiJson.models(service().id, created).toString()));
        app.get("/health", this::health);
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus() == 404
                ? ApiError.notFound(ctx.method().name(), ctx.path())
                : new ApiError(e.getStatus(), "invalid_request_error", e.getMessage(), null, null)));
        app.exception(Exception.class, (e, ctx) -> {
            log.println("woq serve: internal error on " + ctx.path() + ": " + e);
            error(ctx, ApiError.internal("Internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage()));
        });
        app.error(404, ctx -> {
            if (ctx.attribute(RequestStats.ATTRIBUTE) == null && !ctx.path().equals("/health")
                    && (ctx.result() == null || !ctx.result().startsWith("{"))) {
                error(ctx, ApiError.notFound(ctx.method().name(), ctx.path()));
            }
        });
    }

    /**
     * Starts listening, then loads the model with {@code loader} on another thread; the embedding
     * model loads on the first {@code /v1/embeddings} request, and there is no index to search.
     *
     * @param log where the request lines and load messages go (stderr in the CLI)
     */
    public static WoqServer start(ServerOptions options, ModelLoader loader, PrintStream log) {
        return start(options, loader, Documents.embeddingsOnly(
                () -> dev.woq.rag.MiniLmEmbedder.load(Runtime.getRuntime().availableProcessors())), log);
    }

    /**
     * Starts listening, then loads the model with {@code loader} on another thread; {@code documents}
     * answers {@code /v1/embeddings} and {@code /v1/search} and is closed with the server.
     */
    public static WoqServer start(ServerOptions options, ModelLoader loader, Documents documents, PrintStream log) {
        WoqServer server = new WoqServer(options, documents, log);
        server.app.start();
        Thread load = new Thread(() -> {
            try {
                ModelService service = loader.call().service(options);
                if (!server.loaded.complete(service)) {
                    service.close();
                }
            } catch (Throwable e) {
                server.loaded.completeExceptionally(e);
            }
        }, "woq-model-load");
        load.setDaemon(true);
        load.start();
        return server;
    }

    /**
     * Jetty's threads, bounded: each request in the batch or its queue holds one for its whole
     * generation, and {@link #SPARE_THREADS} more serve health checks and clients that send
     * slowly; beyond that, connections wait for a thread instead of each adding one (Javalin's
     * default pool grows to 250, one thread for each dropped connection Jetty dispatches).
     */
    static int maxThreads(ServerOptions options) {
        return options.maxConcurrent() + options.queue() + SPARE_THREADS;
    }

    /** Threads beyond the generating and queued requests'. */
    static final int SPARE_THREADS = 96;

    private static org.eclipse.jetty.util.thread.QueuedThreadPool threadPool(ServerOptions options) {
        org.eclipse.jetty.util.thread.QueuedThreadPool pool =
                new org.eclipse.jetty.util.thread.QueuedThreadPool(maxThreads(options), 8, 10_000);
        pool.setName("woq-http");
        return pool;
    }

    /** Loads the model; the server calls it once, off the HTTP threads. */
    @FunctionalInterface
    public interface ModelLoader extends Callable<LoadedModel> { }

    /** What a loader returns: the model, its tokenizer and chat format, and the id clients name it by. */
    public record LoadedModel(String id, dev.woq.runtime.model.LlamaModel model, dev.woq.tokenizer.Tokenizer tokenizer,
            dev.woq.tokenizer.ChatFormat chat) {
        /** A model in its tokenizer family's default chat format. */
        public LoadedModel(String id, dev.woq.runtime.model.LlamaModel model, dev.woq.tokenizer.Tokenizer tokenizer) {
            this(id, model, tokenizer, dev.woq.tokenizer.ChatFormats.defaultFor(tokenizer));
        }

        ModelService service(ServerOptions options) {
            return new ModelService(id, model, chat, options.maxConcurrent(), options.queue(),
                    options.prefixCacheBytes());
        }
    }

    /** The port it listens on (the one the OS chose when asked for port 0). */
    public int port() {
        return app.port();
    }

    /** Completes when the model is loaded, or with the load's error. */
    public CompletableFuture<?> ready() {
        return loaded;
    }

    ModelService service() {
        if (!loaded.isDone()) {
            throw ApiError.loading();
        }
        if (loaded.isCompletedExceptionally()) {
            throw ApiError.internal("The model failed to load; see the server's log.");
        }
        return loaded.join();
    }

    /** The body, refused with 413 past {@code --max-body} whatever Content-Length claims. */
    String body(Context ctx) throws IOException {
        long limit = options.maxBodyBytes();
        if (ctx.req().getContentLengthLong() > limit) {
            throw ApiError.tooLarge(limit);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                body.write(buf, 0, n);
                if (body.size() > limit) {
                    throw ApiError.tooLarge(limit);
                }
            }
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    private void authorize(Context ctx) {
        if (apiKeyDigest == null) {
            return;
        }
        String header = ctx.header("Authorization");
        String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
        // Digests of equal length, compared in constant time: neither the key's content nor its
        // length shows in the timing.
        if (!MessageDigest.isEqual(apiKeyDigest, sha256(given))) {
            throw ApiError.unauthorized();
        }
    }

    private void health(Context ctx) {
        JsonObject body = new JsonObject();
        if (!loaded.isDone()) {
            body.addProperty("status", "loading");
            ctx.status(503);
        } else if (loaded.isCompletedExceptionally()) {
            body.addProperty("status", "failed");
            ctx.status(500);
        } else {
            ModelService s = loaded.join();
            body.addProperty("status", "ok");
            body.addProperty("model", s.id);
            body.addProperty("active", s.batcher.activeCount());
            body.addProperty("queued", s.batcher.queuedCount());
        }
        ctx.contentType("application/json").result(body.toString());
    }

    private static void error(Context ctx, ApiError e) {
        ctx.status(e.status).contentType("application/json").result(e.body().toString());
        if (e.status == 429) {
            ctx.header("Retry-After", "1");
        }
    }

    /** One line per request; the key is never logged, and bodies are not either. */
    private void logRequest(Context ctx, Float millis) {
        RequestStats s = ctx.attribute(RequestStats.ATTRIBUTE);
        if (s == null) {
            log.printf(Locale.ROOT, "woq serve: %s %s %d %.0f ms%n", ctx.method().name(), ctx.path(), ctx.statusCode(), millis);
            return;
        }
        log.printf(Locale.ROOT, "woq serve: %s %s %s %d in=%d cached=%d out=%d ttft=%s tok/s=%s finish=%s %.2f s%n",
                s.id, ctx.method().name(), ctx.path(), ctx.statusCode(), s.promptTokens, s.cachedTokens, s.completionTokens,
                Double.isNaN(s.firstTokenSeconds) ? "-" : String.format(Locale.ROOT, "%.2fs", s.firstTokenSeconds),
                Double.isNaN(s.tokensPerSecond) ? "-" : String.format(Locale.ROOT, "%.1f", s.tokensPerSecond),
                s.finish, millis / 1000);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops listening, cancels generations in flight and frees the model. */
    @Override
    public void close() {
        app.stop();
        documents.close();
        if (!loaded.complete(null) && !loaded.isCompletedExceptionally()) {
            ModelService s = loaded.join();
            if (s != null) {
                s.close();
            }
        }
    }
}
