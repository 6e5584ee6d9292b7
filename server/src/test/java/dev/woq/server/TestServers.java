package dev.woq.server;

import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.synth.SyntheticCheckpoint;
import dev.woq.runtime.synth.SyntheticPreset;
import dev.woq.tokenizer.Llama3Tokenizer;
import dev.woq.tokenizer.TokenizerLocations;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The tiny synthetic model with the real Llama 3 tokenizer, served on a free loopback port. */
final class TestServers {
    static final String MODEL = "tiny";
    private static Path checkpoint;

    private TestServers() {}

    static synchronized Path checkpoint() {
        if (checkpoint == null) {
            try {
                Path root = Files.createTempDirectory("woq-server-test-");
                Path dir = root.resolve(MODEL);
                SyntheticCheckpoint.write(dir, SyntheticPreset.TINY.config(), 7, 0.1,
                        TokenizerLocations.requireDefaultTokenizerJson(), SyntheticCheckpoint.DEFAULT_SHARD_BYTES,
                        SyntheticCheckpoint.Progress.NONE);
                checkpoint = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return checkpoint;
    }

    static WoqServer.ModelLoader loader() {
        Path dir = checkpoint();
        return () -> new WoqServer.LoadedModel(MODEL, LlamaModel.load(TorchRuntime.start(2), dir),
                Llama3Tokenizer.load(dir.resolve("tokenizer.json")));
    }

    /** Started and loaded; the log goes to {@code log}. */
    static WoqServer start(ServerOptions options, PrintStream log) throws Exception {
        WoqServer server = WoqServer.start(options, loader(), log);
        server.ready().get(120, TimeUnit.SECONDS);
        return server;
    }

    /**
     * Without a prefix cache: a reused prefix gives the same logits only up to rounding, and these
     * servers' tests compare replies to repeated requests exactly (PrefixReuseTest has one).
     */
    static ServerOptions options(String apiKey, int maxConcurrent, int queue, long maxBody) {
        return new ServerOptions("127.0.0.1", 0, apiKey, maxConcurrent, queue, maxBody, 0);
    }
}
