package dev.woq.spark;

/**
 * A row's sampling seed, from the job's seed and the row's prompt alone: a retried task, or the
 * same row in another job, samples the same tokens, whatever partition or order it comes in.
 */
final class RowSeeds {
    private RowSeeds() {}

    static long seed(long jobSeed, int[] promptIds) {
        // FNV-1a over the ids, then SplitMix64's finalizer to spread the bits.
        long h = 0xcbf29ce484222325L ^ jobSeed;
        for (int id : promptIds) {
            h = (h ^ id) * 0x100000001b3L;
        }
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }
}
