package dev.woq.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.TokenizerLocations;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serve load test runs end to end on the tiny model: every request answered, every number filled. */
class ServeLoadRunTest {
    @TempDir
    Path tmp;

    @Test
    void everyPhaseAnswersEveryRequestAndReportsItsNumbers() throws Exception {
        Path model = tmp.resolve("tiny");
        SyntheticCheckpoint.write(model, SyntheticPreset.TINY.config(), 3,
                TokenizerLocations.requireDefaultTokenizerJson(), SyntheticCheckpoint.DEFAULT_SHARD_BYTES,
                SyntheticCheckpoint.Progress.NONE);
        JsonObject report = ServeLoad.run(model, new int[] {1, 3}, 2, 6, 2);
        assertEquals(2, report.getAsJsonArray("phases").size());
        for (var p : report.getAsJsonArray("phases")) {
            JsonObject phase = p.getAsJsonObject();
            int clients = phase.get("clients").getAsInt();
            assertEquals(2 * clients, phase.get("requests").getAsInt());
            assertEquals(0, phase.get("errors").getAsInt(), phase.toString());
            long tokens = phase.get("completion_tokens").getAsLong();
            // At most max_tokens each; fewer only if a random model happens to say a stop token.
            assertTrue(tokens >= 2L * clients && tokens <= 2L * clients * 6, phase.toString());
            assertTrue(phase.get("aggregate_decode_tokens_per_second").getAsDouble() > 0, phase.toString());
            assertTrue(phase.has("concurrent_decode_tokens_per_second"), phase.toString());
            assertTrue(phase.get("ttft_p90_seconds").getAsDouble() > 0, phase.toString());
            assertTrue(phase.get("rss_after_bytes").getAsLong() > 0, phase.toString());
        }
    }
}
