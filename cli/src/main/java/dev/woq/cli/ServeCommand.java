package dev.woq.cli;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.LocalModel;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.rag.DocumentIndex;
import dev.woq.rag.MiniLmEmbedder;
import dev.woq.server.Documents;
import dev.woq.server.ServerOptions;
import dev.woq.server.WoqServer;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code woq serve}: the OpenAI-compatible HTTP API. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve a Llama 3 model over OpenAI's HTTP API, streamed or not.",
            "Endpoints: POST /v1/chat/completions, POST /v1/completions (streamed as server-sent events "
                    + "with \"stream\": true), POST /v1/embeddings, GET /v1/models and GET /health; "
                    + "with --index also POST /v1/search.",
            "/v1/embeddings embeds with all-MiniLM-L6-v2 (384 dimensions), in process, loaded on the "
                    + "first request (at start with --index); input is a string or up to "
                    + Documents.MAX_EMBEDDING_INPUTS + " strings of at most "
                    + "256 word pieces each.",
            "/v1/search takes {\"query\", \"top_k\", \"mode\"} and answers what 'woq search --json' prints.",
            "Requests in flight are decoded together (continuous batching, up to --max-concurrent); "
                    + "more wait in a queue of --queue, and beyond it get 429.",
            "A long prompt is prefilled --prefill-chunk tokens at a time between the decode steps of "
                    + "the others; a prompt that starts like a recent one reuses that prefix's KV cache "
                    + "(--prefix-cache) and the usage reports it as prompt_tokens_details.cached_tokens.",
            "It listens at once and loads the model in the background: /health answers 503 until "
                    + "the model is ready. Ctrl-C stops it."
        },
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq serve --model /tmp/s --dtype int4",
            "  WOQ_API_KEY=secret woq serve --model ~/models/Meta-Llama-3-8B-Instruct \\",
            "      --dtype int4 --host 0.0.0.0 --port 8000",
            "  woq serve --model /tmp/s --prefill-chunk 256 --prefix-cache 2048",
            "  woq serve --model llama3-8b --dtype int4 --index ~/idx",
            "  curl -s localhost:8080/v1/search -d '{\"query\":\"vacation days\"}'",
            "  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\",
            "      -d '{\"model\":\"s\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'"
        })
final class ServeCommand implements Callable<Integer> {
    @Mixin
    WeightsOptions weights;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = ServerOptions.DEFAULT_HOST,
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for every"
                    + " interface).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_PORT,
            description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:WOQ_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on /v1 (default: $WOQ_API_KEY; none when unset)."
                    + " Prefer the variable: options show in ps.")
    String apiKey;

    @Option(names = "--max-concurrent", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_MAX_CONCURRENT,
            description = "Requests decoded together at most (default: ${DEFAULT-VALUE}). Each holds its own KV"
                    + " cache: 128 KiB per token for Llama-3-8B.")
    int maxConcurrent;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "" + ServerOptions.DEFAULT_QUEUE,
            description = "Requests that may wait for a place (default: ${DEFAULT-VALUE}); more get 429.")
    int queue;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "" + ServerOptions.DEFAULT_MAX_BODY,
            description = "Largest request body (default: ${DEFAULT-VALUE}); larger ones get 413.")
    long maxBody;

    @Option(names = "--prefix-cache", paramLabel = "MIB", defaultValue = "" + ServerOptions.DEFAULT_PREFIX_CACHE_MIB,
            description = "Memory for the KV caches of recent prompts (default: ${DEFAULT-VALUE} MiB): a prompt"
                    + " that starts like one of them (the same system prompt) reuses that prefix and computes"
                    + " only the rest. 0 turns it off.")
    long prefixCacheMib;

    @Option(names = "--index", paramLabel = "DIR",
            description = "Serve POST /v1/search over this index (made by 'woq index'); default: none, and"
                    + " /v1/search answers 404.")
    Path index;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The id clients send as \"model\" (default: the last part of --model).")
    String servedName;

    @Mixin
    TokenizerOption tokenizerOption;

    @Mixin
    RuntimeOptions runtime;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        ServerOptions options;
        try {
            options = new ServerOptions(host, port, apiKey == null || apiKey.isEmpty() ? null : apiKey,
                    maxConcurrent, queue, maxBody, prefixCacheMib << 20);
        } catch (IllegalArgumentException e) {
            throw new WoqException(e.getMessage());
        }
        String id = servedName != null ? servedName : Path.of(weights.model).getFileName().toString();
        PrintStream log = new PrintStream(new WriterOutputStream(err), true, StandardCharsets.UTF_8);
        long start = System.nanoTime();
        Documents documents = documents(err);
        WoqServer server;
        try {
            server = WoqServer.start(options, () -> load(id, err, start), documents, log);
        } catch (RuntimeException e) {
            documents.close();
            throw new WoqException("Cannot listen on " + host + ":" + port + ": " + rootMessage(e)
                    + " (is another server on that port? choose another with --port)");
        }
        err.printf(Locale.ROOT, "woq serve: listening on http://%s:%d/v1 as model \"%s\"%s; loading the model...%n",
                host, server.port(), id, options.apiKey() != null ? " (API key required)" : "");
        err.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "woq-serve-stop"));
        try {
            server.ready().get();
        } catch (ExecutionException e) {
            server.close();
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new WoqException("The model failed to load: " + cause, cause);
        }
        err.printf(Locale.ROOT, "woq serve: ready in %.1f s: up to %d requests decoded together, %d queued%n",
                (System.nanoTime() - start) / 1e9, maxConcurrent, queue);
        err.flush();
        stopped.await();
        return 0;
    }

    /**
     * With --index: MiniLM loaded and the index opened now, before listening, so that an index made
     * with another embedding model (or none at DIR) is refused at start. Without: MiniLM waits for
     * the first /v1/embeddings request, and a server used only for chat never holds it.
     */
    private Documents documents(PrintWriter err) {
        if (index == null) {
            return Documents.embeddingsOnly(() -> MiniLmEmbedder.load(runtime.threads));
        }
        MiniLmEmbedder minilm = MiniLmEmbedder.load(runtime.threads);
        DocumentIndex opened;
        try {
            opened = DocumentIndex.open(index, minilm);
        } catch (RuntimeException e) {
            minilm.close();
            throw e;
        }
        // ONNX Runtime sets itself up on its first run (about half a second): not on a client's time.
        minilm.embed(List.of("warm up"));
        err.printf(Locale.ROOT, "woq serve: index %s: %,d passages; POST /v1/search is on%n", index,
                opened.passageCount());
        err.flush();
        return Documents.withIndex(minilm, opened, new Places()::show);
    }

    private WoqServer.LoadedModel load(String id, PrintWriter err, long start) {
        Path dir = weights.resolve(err);
        LocalModel local = LocalModel.load(dir, LocalModel.tokenizerFile(dir, tokenizerOption.file), runtime.threads);
        LlamaModel model = local.model();
        runtime.applyTo(model);
        err.printf(Locale.ROOT, "woq serve: %s; context %,d tokens%n", local.describe(), model.config().maxPositionEmbeddings());
        err.flush();
        return new WoqServer.LoadedModel(id, model, local.tokenizer(), local.chatFormat());
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** Request lines go where the command's other messages go. */
    private static final class WriterOutputStream extends java.io.OutputStream {
        private final PrintWriter writer;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        WriterOutputStream(PrintWriter writer) {
            this.writer = writer;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                flush();
            }
        }

        @Override
        public synchronized void flush() {
            writer.print(line.toString(StandardCharsets.UTF_8));
            writer.flush();
            line.reset();
        }
    }
}
