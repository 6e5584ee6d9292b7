package dev.woq.spark;

import dev.woq.runtime.LocalModel;
import dev.woq.runtime.format.WeightFormat;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.registry.ModelResolver;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkEnv;

/**
 * The models of this JVM, each loaded once and shared by every task that runs here: an executor's
 * concurrent tasks get the same weights (mapped files, so the page cache holds them once per
 * machine) and the same batcher. A model that could not be resolved or loaded is remembered too,
 * so the tasks that follow fail at once with the same message instead of trying again.
 */
public final class SharedModels {
    /** A loaded model is identified by what it was loaded from, how, and with how many threads. */
    record Key(Path dir, WeightFormat format, int threads) { }

    /** What options name, before resolving: the same names resolve to the same directory in one JVM. */
    private record Source(String model, WeightFormat format, String woqHome, String tokenizer, int threads) { }

    private static final Map<Key, SharedModel> models = new HashMap<>();
    private static final Map<Source, Object> bySource = new HashMap<>();
    private static final AtomicInteger loads = new AtomicInteger();

    private SharedModels() {}

    /** How many models this JVM has loaded so far. */
    public static int loadCount() {
        return loads.get();
    }

    /**
     * The model {@code options} name, loading it the first time (other tasks wait meanwhile).
     *
     * @throws WoqSparkException naming this host and the model when it cannot be read here
     */
    static synchronized SharedModel get(WoqSparkOptions options) {
        WeightFormat format = options.format();
        Source source = new Source(options.model(), format, options.woqHome(), options.tokenizer(), options.threads());
        Object known = bySource.get(source);
        if (known instanceof SharedModel model) {
            return model;
        }
        if (known instanceof WoqSparkException failed) {
            throw new WoqSparkException(failed.getMessage());
        }
        try {
            ModelRegistry registry = options.woqHome() != null
                    ? new ModelRegistry(Path.of(options.woqHome())) : ModelRegistry.atDefaultHome();
            Path dir = new ModelResolver(registry).resolve(options.model(), format);
            Key key = new Key(dir.toAbsolutePath().normalize(), format, options.threads());
            SharedModel model = models.get(key);
            if (model == null) {
                Path tokenizer = options.tokenizer() != null ? Path.of(options.tokenizer()) : null;
                LocalModel local = LocalModel.load(dir, tokenizer, options.threads());
                loads.incrementAndGet();
                System.err.println("woq-spark: " + local.describe());
                model = new SharedModel(local, options.inFlight());
                models.put(key, model);
            }
            bySource.put(source, model);
            return model;
        } catch (RuntimeException e) {
            WoqSparkException failed = new WoqSparkException("Cannot load model '" + options.model() + "' (" + format.id()
                    + ") on " + where() + ": " + e.getMessage() + ". Every executor must see the model at that path"
                    + " (a shared file system, or --archives) or find it in its registry (woqHome, $WOQ_HOME)", e);
            bySource.put(source, failed);
            throw failed;
        }
    }

    /** Closes every model of this JVM (tests; an executor keeps its models until it exits). */
    static synchronized void closeAll() {
        for (SharedModel model : models.values()) {
            model.close();
        }
        models.clear();
        bySource.clear();
    }

    /** This host, and the executor when running in one. */
    static String where() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "an unnamed host";
        }
        SparkEnv env = SparkEnv.get();
        return "host " + host + (env != null ? " (executor " + env.executorId() + ")" : "");
    }
}
