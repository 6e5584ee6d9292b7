package dev.woq.runtime.registry;

import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive lock on one registry entry, across threads (a lock per lock file in this JVM) and
 * across processes (an OS file lock, released by the OS when a process dies, even by SIGKILL).
 * Lock files are never deleted: deleting one would let two processes lock different files.
 */
final class RegistryLock implements AutoCloseable {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private final ReentrantLock local;
    private final FileChannel channel;
    private final FileLock fileLock;

    private RegistryLock(ReentrantLock local, FileChannel channel, FileLock fileLock) {
        this.local = local;
        this.channel = channel;
        this.fileLock = fileLock;
    }

    /** Blocks until the lock is held; calls {@code onWait} once if someone else holds it. */
    static RegistryLock acquire(Path lockFile, Runnable onWait) {
        Path key = lockFile.toAbsolutePath().normalize();
        ReentrantLock local = IN_PROCESS.computeIfAbsent(key, k -> new ReentrantLock());
        boolean waited = false;
        if (!local.tryLock()) {
            onWait.run();
            waited = true;
            local.lock();
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                if (!waited) {
                    onWait.run();
                }
                lock = channel.lock();
            }
            return new RegistryLock(local, channel, lock);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            local.unlock();
            throw new CheckpointException("Cannot lock " + key + ": " + e.getMessage()
                    + ". Check that the woq home is writable (set --woq-home or WOQ_HOME to another directory).", e);
        }
    }

    @Override
    public void close() {
        try {
            fileLock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        } finally {
            closeQuietly(channel);
            local.unlock();
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
