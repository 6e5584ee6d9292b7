package dev.woq.server;

import com.google.gson.JsonObject;
import dev.woq.runtime.WoqException;
import dev.woq.runtime.generate.ContinuousBatcher;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.StopReason;
import dev.woq.tokenizer.StreamingDecoder;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions}: validates the request,
 * queues it on the batcher, and answers as its tokens arrive, either as server-sent events or
 * as one JSON body. A client that goes away is noticed at the next write when streaming, within
 * {@link #CLIENT_CHECK_MILLIS} otherwise ({@link ClientConnection}), and its generation is
 * cancelled, which frees its KV cache.
 */
final class CompletionHandler {
    /** How often a whole (not streamed) reply checks that its client is still connected. */
    static final long CLIENT_CHECK_MILLIS = 100;
    private final WoqServer server;
    private final boolean chat;

    CompletionHandler(WoqServer server, boolean chat) {
        this.server = server;
        this.chat = chat;
    }

    void handle(Context ctx) throws Exception {
        ModelService service = server.service();
        RequestStats stats = new RequestStats();
        ctx.attribute(RequestStats.ATTRIBUTE, stats);
        ApiRequest request = ApiRequestParser.parse(server.body(ctx), chat);
        if (!request.model().equals(service.id)) {
            throw ApiError.modelNotFound(request.model(), service.id);
        }
        int[] prompt = service.promptIds(request);
        stats.promptTokens = prompt.length;
        GenerationConfig config = service.config(request, prompt.length);
        GenerationEvents events = new GenerationEvents();
        ContinuousBatcher.Ticket ticket;
        try {
            ticket = service.batcher.submit(prompt, config, events);
        } catch (ContinuousBatcher.QueueFullException e) {
            throw ApiError.queueFull(service.batcher.queuedCount());
        } catch (WoqException e) {
            throw ApiError.badRequest(e.getMessage(), chat ? "messages" : "prompt");
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        stats.id = id;
        long created = System.currentTimeMillis() / 1000;
        Reply reply = new Reply(service, request, id, created);
        try {
            if (request.stream()) {
                stream(ctx, events, ticket, reply, stats);
            } else {
                whole(ctx, events, ticket, reply, stats);
            }
        } catch (InterruptedException e) {
            ticket.cancel();
            Thread.currentThread().interrupt();
            throw e;
        }
    }

    private void whole(Context ctx, GenerationEvents events, ContinuousBatcher.Ticket ticket, Reply reply, RequestStats stats)
            throws InterruptedException {
        StringBuilder text = new StringBuilder();
        ClientConnection client = new ClientConnection(ctx);
        long nextCheck = System.nanoTime() + CLIENT_CHECK_MILLIS * 1_000_000;
        while (true) {
            Object event = events.next(CLIENT_CHECK_MILLIS);
            if (System.nanoTime() - nextCheck >= 0) {
                nextCheck = System.nanoTime() + CLIENT_CHECK_MILLIS * 1_000_000;
                if (client.gone()) {
                    // nobody will read the reply: stop generating it, which frees its KV cache
                    ticket.cancel();
                    stats.finish = "client-gone";
                    ctx.status(499);
                    return;
                }
            }
            if (event == null) {
                continue;
            }
            if (event instanceof Integer id) {
                text.append(reply.push(id, ticket));
            } else if (event instanceof ContinuousBatcher.Outcome outcome) {
                text.append(reply.finish());
                reply.record(outcome, stats);
                JsonObject body = OpenAiJson.completion(chat, reply.id, reply.created, reply.service.id, text.toString(),
                        reply.finishReason(outcome), OpenAiJson.usage(outcome.promptTokens(), outcome.generatedTokens(),
                                outcome.cachedPromptTokens()));
                ctx.contentType("application/json").result(body.toString());
                return;
            } else {
                throw ApiError.internal("Generation failed: " + ((RuntimeException) event).getMessage());
            }
        }
    }

    private void stream(Context ctx, GenerationEvents events, ContinuousBatcher.Ticket ticket, Reply reply, RequestStats stats)
            throws InterruptedException {
        HttpServletResponse res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream");
        res.setCharacterEncoding("utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        try {
            OutputStream out = res.getOutputStream();
            if (chat) {
                send(out, OpenAiJson.chunk(true, reply.id, reply.created, reply.service.id, "assistant", "", null));
            }
            while (true) {
                Object event = events.next();
                if (event instanceof Integer id) {
                    String text = reply.push(id, ticket);
                    if (!text.isEmpty()) {
                        send(out, OpenAiJson.chunk(chat, reply.id, reply.created, reply.service.id, null, text, null));
                    }
                } else if (event instanceof ContinuousBatcher.Outcome outcome) {
                    reply.record(outcome, stats);
                    String tail = reply.finish();
                    if (!tail.isEmpty()) {
                        send(out, OpenAiJson.chunk(chat, reply.id, reply.created, reply.service.id, null, tail, null));
                    }
                    send(out, OpenAiJson.chunk(chat, reply.id, reply.created, reply.service.id, null, null,
                            reply.finishReason(outcome)));
                    if (reply.request.includeUsage()) {
                        send(out, OpenAiJson.usageChunk(chat, reply.id, reply.created, reply.service.id,
                                OpenAiJson.usage(outcome.promptTokens(), outcome.generatedTokens(),
                                        outcome.cachedPromptTokens())));
                    }
                    sendRaw(out, "data: [DONE]\n\n");
                    return;
                } else {
                    ApiError error = ApiError.internal("Generation failed: " + ((RuntimeException) event).getMessage());
                    send(out, error.body());
                    stats.finish = "error";
                    return;
                }
            }
        } catch (IOException clientGone) {
            // The client closed the connection: stop generating for it; its cache is freed.
            ticket.cancel();
            stats.finish = "client-gone";
            ctx.status(499);
        }
    }

    private static void send(OutputStream out, JsonObject chunk) throws IOException {
        sendRaw(out, "data: " + chunk + "\n\n");
    }

    private static void sendRaw(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** One reply's text as it forms: tokens decoded to text, cut at the first stop string. */
    private static final class Reply {
        final ModelService service;
        final ApiRequest request;
        final String id;
        final long created;
        final StreamingDecoder decoder;
        final StopStrings stops;

        Reply(ModelService service, ApiRequest request, String id, long created) {
            this.service = service;
            this.request = request;
            this.id = id;
            this.created = created;
            this.decoder = new StreamingDecoder(service.tokenizer, true);
            this.stops = new StopStrings(request.stop());
        }

        String push(int token, ContinuousBatcher.Ticket ticket) {
            String text = stops.feed(decoder.push(token));
            if (stops.stopped()) {
                ticket.cancel();
            }
            return text;
        }

        String finish() {
            return stops.feed(decoder.flush()) + stops.flush();
        }

        String finishReason(ContinuousBatcher.Outcome outcome) {
            return stops.stopped() || outcome.reason() == StopReason.STOP_TOKEN ? "stop" : "length";
        }

        void record(ContinuousBatcher.Outcome outcome, RequestStats stats) {
            stats.completionTokens = outcome.generatedTokens();
            stats.cachedTokens = outcome.cachedPromptTokens();
            stats.firstTokenSeconds = outcome.firstTokenNanos() / 1e9;
            stats.tokensPerSecond = outcome.decodeTokensPerSecond();
            stats.finish = outcome.reason() == StopReason.CANCELLED && !stops.stopped()
                    ? "cancelled" : finishReason(outcome);
        }
    }
}
