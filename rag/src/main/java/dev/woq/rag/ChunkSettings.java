package dev.woq.rag;

import dev.woq.runtime.ConfigException;
import java.util.Locale;

/**
 * How pages are cut into passages; an index records these and keeps them.
 *
 * @param unit what {@code size} and {@code overlap} count
 * @param size the most a passage holds: embedding-model tokens (its special tokens included), or characters
 * @param overlap how much of a passage's end the next one repeats, at most
 */
public record ChunkSettings(Unit unit, int size, int overlap) {
    /** What a chunk's size is counted in. */
    public enum Unit {
        /** Word pieces of the embedding model, cut at sentence and paragraph boundaries. */
        TOKENS,
        /** Characters, cut at white space (the common 500/50 recipe, kept for comparison). */
        CHARS
    }

    /** woq's default: 256 MiniLM tokens (all the model sees), 32 of overlap. */
    public static final ChunkSettings DEFAULT = new ChunkSettings(Unit.TOKENS, 256, 32);

    public ChunkSettings {
        if (size < 16) {
            throw new ConfigException("chunk size must be at least 16, got " + size);
        }
        if (overlap < 0 || overlap >= size / 2) {
            throw new ConfigException("overlap must be in [0, " + (size / 2 - 1) + "] for chunks of " + size
                    + ", got " + overlap);
        }
    }

    /** Token-budget chunks. */
    public static ChunkSettings tokens(int size, int overlap) {
        return new ChunkSettings(Unit.TOKENS, size, overlap);
    }

    /** Character-window chunks. */
    public static ChunkSettings chars(int size, int overlap) {
        return new ChunkSettings(Unit.CHARS, size, overlap);
    }

    /** As the index metadata stores it, e.g. {@code tokens:256:32}. */
    public String id() {
        return unit.name().toLowerCase(Locale.ROOT) + ":" + size + ":" + overlap;
    }

    /** Parses {@link #id()}. */
    public static ChunkSettings parse(String id) {
        String[] parts = id.split(":");
        if (parts.length != 3) {
            throw new ConfigException("bad chunk settings '" + id + "': expected unit:size:overlap");
        }
        return new ChunkSettings(Unit.valueOf(parts[0].toUpperCase(Locale.ROOT)),
                Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
    }

    /** For people: {@code 256 tokens, 32 overlap}. */
    public String describe() {
        return size + " " + unit.name().toLowerCase(Locale.ROOT) + ", " + overlap + " overlap";
    }
}
