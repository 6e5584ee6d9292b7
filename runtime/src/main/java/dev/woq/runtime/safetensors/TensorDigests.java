package dev.woq.runtime.safetensors;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * A running SHA-256 per tensor, fed with each tensor's bytes as a writer takes them: the registry's
 * manifest records these, so quantizing an 8B model does not read its 5 GB back to hash them.
 */
final class TensorDigests {
    private final Map<String, MessageDigest> running = new HashMap<>();

    /** Adds the remaining bytes of {@code data} (its position moves to its limit) to {@code name}'s hash. */
    void update(String name, ByteBuffer data) {
        running.computeIfAbsent(name, n -> sha256()).update(data);
    }

    /** The hex SHA-256 of everything added to {@code name} (of nothing if nothing was). */
    String hex(String name) {
        MessageDigest d = running.get(name);
        try {
            return HexFormat.of().formatHex((d != null ? (MessageDigest) d.clone() : sha256()).digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 digests are cloneable in every JDK", e);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
