package dev.woq.runtime.safetensors;

import dev.woq.runtime.CheckpointException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits tensors, kept in order, into shards of at most a given number of data bytes, the way
 * Hugging Face's {@code save_pretrained} does: a tensor starts a new shard when it would push the
 * current one over the limit, and a tensor larger than the limit gets a shard of its own.
 * Headers are not counted, as in Hugging Face's {@code max_shard_size}.
 */
final class ShardPlan {
    private ShardPlan() {}

    static List<List<TensorDeclaration>> split(List<TensorDeclaration> tensors, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new CheckpointException("The maximum shard size must be positive, got " + Fmt.num(maxShardBytes)
                    + " bytes. Pass e.g. 5,000,000,000 (5 GB), as Hugging Face does.");
        }
        List<List<TensorDeclaration>> shards = new ArrayList<>();
        List<TensorDeclaration> shard = new ArrayList<>();
        long shardBytes = 0;
        for (TensorDeclaration t : tensors) {
            if (!shard.isEmpty() && shardBytes + t.byteLength() > maxShardBytes) {
                shards.add(List.copyOf(shard));
                shard = new ArrayList<>();
                shardBytes = 0;
            }
            shard.add(t);
            shardBytes += t.byteLength();
        }
        shards.add(List.copyOf(shard)); // also the one empty shard of an empty checkpoint
        return List.copyOf(shards);
    }

    /** Hugging Face's shard file name, e.g. {@code model-00002-of-00004.safetensors}. */
    static String shardName(int index, int count) {
        return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", index + 1, count);
    }
}
