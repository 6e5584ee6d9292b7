package dev.woq.spark;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.generate.ContinuousBatcher;
import dev.woq.tokenizer.ChatFormat;
import dev.woq.tokenizer.Tokenizer;
import java.util.HashSet;
import java.util.Set;

/** One loaded model of this JVM with the batcher all its tasks submit rows to. */
final class SharedModel implements AutoCloseable {
    /** Rows waiting for a place in the batch; each task keeps at most twice the in-flight count waiting. */
    private static final int MAX_QUEUED = 4096;

    final LocalModel local;
    final ContinuousBatcher batcher;
    final ChatFormat chat;
    final Set<Integer> stops;

    SharedModel(LocalModel local, int inFlight) {
        this.local = local;
        this.batcher = new ContinuousBatcher(local.model(), inFlight, MAX_QUEUED);
        this.chat = local.chatFormat();
        Set<Integer> s = new HashSet<>(chat.stopTokenIds());
        s.addAll(local.model().config().eosTokenIds());
        this.stops = Set.copyOf(s);
    }

    Tokenizer tokenizer() {
        return local.tokenizer();
    }

    int context() {
        return local.model().config().maxPositionEmbeddings();
    }

    @Override
    public void close() {
        try {
            batcher.close();
        } finally {
            local.close();
        }
    }
}
