package dev.woq.server;

/** What the request log line reports about one completion request; filled in as it runs. */
final class RequestStats {
    static final String ATTRIBUTE = "woq.stats";

    String id = "-";
    int promptTokens;
    int cachedTokens; // prompt tokens reused from the prefix cache
    int completionTokens;
    double firstTokenSeconds = Double.NaN;
    double tokensPerSecond = Double.NaN;
    String finish = "-";
}
