package dev.woq.server;

import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

/**
 * A request the API refuses, with the HTTP status and OpenAI's error body:
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String message, String param, String code) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError contextTooLong(String message) {
        return new ApiError(400, "invalid_request_error", message, "messages", "context_length_exceeded");
    }

    static ApiError unauthorized() {
        return new ApiError(401, "invalid_request_error",
                "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'.", null, "invalid_api_key");
    }

    static ApiError modelNotFound(String asked, String served) {
        return new ApiError(404, "invalid_request_error",
                "The model '" + asked + "' does not exist: this server serves '" + served + "' (GET /v1/models).",
                "model", "model_not_found");
    }

    static ApiError notFound(String method, String path) {
        return new ApiError(404, "invalid_request_error",
                "Unknown endpoint " + method + " " + path + ": woq serves POST /v1/chat/completions,"
                        + " POST /v1/completions, POST /v1/embeddings, POST /v1/search, GET /v1/models and"
                        + " GET /health.", null, "unknown_url");
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error",
                "The request body is larger than " + limit + " bytes (the server's --max-body).", null, "request_too_large");
    }

    static ApiError queueFull(int queue) {
        return new ApiError(429, "rate_limit_exceeded",
                "The server is busy: every generation slot is taken and " + queue
                        + " requests already wait. Retry shortly.", null, "queue_full");
    }

    static ApiError loading() {
        return new ApiError(503, "server_error", "The model is still loading: retry when GET /health answers 200.",
                null, "model_loading");
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, null);
    }

    JsonObject body() {
        JsonObject error = new JsonObject();
        error.addProperty("message", getMessage());
        error.addProperty("type", type);
        error.add("param", param == null ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive(param));
        error.add("code", code == null ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive(code));
        JsonObject body = new JsonObject();
        body.add("error", error);
        return body;
    }
}
