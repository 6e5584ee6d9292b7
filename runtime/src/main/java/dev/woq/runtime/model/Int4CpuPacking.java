package dev.woq.runtime.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Rearranges woq's portable int4 nibbles into the byte layout of libtorch's CPU int4 kernel
 * ({@code _weight_int4pack_mm_for_cpu}), in Java, straight from the file: a byte shuffle at memory
 * speed instead of libtorch's route through a 4-bytes-per-code int32 copy
 * ({@code _convert_weight_to_int4pack_for_cpu}), which made an int4 Llama-3-8B take 20 s to load.
 *
 * <p>The kernel's layout (PyTorch's {@code aten/src/ATen/native/cpu/int4mm_kernel.cpp},
 * {@code weight_to_int4pack_kernel}) depends on the instruction set libtorch dispatched to: output
 * rows are taken in blocks of {@code BLOCK_N} (64 with AVX-512, 32 otherwise); within a full
 * block, byte {@code p} of input column {@code k} holds row {@code p} in its low nibble and row
 * {@code p + BLOCK_N/2} in its high one (AVX-512 and AVX2), or rows {@code 2p} and {@code 2p+1}
 * (the scalar build, and every partial last block). Blocks follow each other, each
 * {@code K * rows / 2} bytes.
 *
 * <p>Which layout this libtorch uses is not guessed: {@link #detect} packs a probe matrix both with
 * libtorch and with each candidate layout, and keeps the one whose bytes match. If none does (a
 * libtorch with another layout), the caller falls back to libtorch's own conversion.
 */
final class Int4CpuPacking {
    /** A candidate layout: block size and whether full blocks pair row p with p + block/2. */
    record Layout(int blockN, boolean splitHalves) {}

    private static final Layout[] CANDIDATES = {new Layout(64, true), new Layout(32, true), new Layout(32, false)};
    /** Probe rows: a full 64-row block and a partial one, so both rules are checked. */
    static final int PROBE_N = 96;
    static final int PROBE_K = 256;

    private static volatile Optional<Layout> detected;

    private Int4CpuPacking() {}

    /** The layout this process's libtorch packs int4 weights in, or empty if none of the known ones. */
    static Optional<Layout> detect(TorchOps ops, PtNDManager manager) {
        Optional<Layout> d = detected;
        if (d == null) {
            synchronized (Int4CpuPacking.class) {
                d = detected;
                if (d == null) {
                    d = probe(ops, manager);
                    detected = d;
                }
            }
        }
        return d;
    }

    private static Optional<Layout> probe(TorchOps ops, PtNDManager manager) {
        int[] codes = new int[PROBE_N * PROBE_K];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < codes.length; i++) {
            codes[i] = r.nextInt(16);
        }
        byte[] nibbles = new byte[PROBE_N * PROBE_K / 2];
        for (int i = 0; i < codes.length; i += 2) {
            nibbles[i / 2] = (byte) (codes[i] | (codes[i + 1] << 4));
        }
        byte[] expected;
        try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
            PtNDArray ints = (PtNDArray) scope.create(codes, new Shape(PROBE_N, PROBE_K));
            PtNDArray packed = ops.int4PackReference(scope, ints);
            expected = packed.toByteArray();
        }
        for (Layout layout : CANDIDATES) {
            byte[] mine = new byte[nibbles.length];
            pack(layout, nibbles, 0, PROBE_N, PROBE_K, 0, PROBE_N, mine, 0);
            if (Arrays.equals(mine, expected)) {
                return Optional.of(layout);
            }
        }
        return Optional.empty();
    }

    /**
     * Packs rows {@code [r0, r0 + rows)} of an [n, k] matrix whose portable nibbles
     * ({@code k/2} bytes a row, low nibble = even column) start at {@code src[srcOffset]} for row
     * {@code r0}, writing the kernel's bytes for those rows into {@code dst} from {@code dstOffset}.
     * {@code r0} must start a block.
     */
    static void pack(Layout layout, byte[] src, int srcOffset, int n, int k, int r0, int rows, byte[] dst,
            int dstOffset) {
        int half = k / 2;
        int[] loRow = new int[layout.blockN() / 2];
        int[] hiRow = new int[layout.blockN() / 2];
        for (int b0 = 0; b0 < rows; b0 += layout.blockN()) {
            int nb = Math.min(layout.blockN(), Math.min(rows - b0, n - r0 - b0));
            boolean split = layout.splitHalves() && nb == layout.blockN();
            int pairs = nb / 2;
            for (int p = 0; p < pairs; p++) {
                loRow[p] = srcOffset + (b0 + (split ? p : 2 * p)) * half;
                hiRow[p] = srcOffset + (b0 + (split ? p + pairs : 2 * p + 1)) * half;
            }
            // Column pair (2j, 2j+1) of two rows comes from one byte of each; the output of a
            // column is `pairs` consecutive bytes, so writes stream and reads stay in cache.
            int at = dstOffset + b0 * half;
            for (int j = 0; j < half; j++) {
                for (int p = 0; p < pairs; p++) {
                    int a = src[loRow[p] + j];
                    int b = src[hiRow[p] + j];
                    dst[at + p] = (byte) ((a & 0x0F) | ((b & 0x0F) << 4));
                    dst[at + pairs + p] = (byte) (((a >> 4) & 0x0F) | (b & 0xF0));
                }
                at += 2 * pairs;
            }
        }
    }

    /**
     * {@link #pack} split by blocks over the cores (blocks pack independently): the shuffle is
     * bound by the CPU, about 0.5 GB/s a core, not by memory.
     */
    private static void packInParallel(Layout layout, byte[] src, int n, int k, int r0, int rows, byte[] dst) {
        int half = k / 2;
        int blocks = (rows + layout.blockN() - 1) / layout.blockN();
        int tasks = Math.min(blocks, Runtime.getRuntime().availableProcessors());
        int perTask = (blocks + tasks - 1) / tasks * layout.blockN();
        java.util.stream.IntStream.range(0, tasks).parallel().forEach(t -> {
            int from = t * perTask;
            if (from < rows) {
                // Each task reads and writes its own rows.
                pack(layout, src, from * half, n, k, r0 + from, Math.min(perTask, rows - from), dst, from * half);
            }
        });
    }

    /**
     * Packs the matrices of one model load in {@code layout}, reusing one native buffer (the size
     * of the largest matrix so far) so that loading never holds more than one matrix in transit.
     */
    static final class Packer {
        private final Layout layout;
        private ByteBuffer scratch;

        Packer(Layout layout) {
            this.layout = layout;
        }

        /**
         * Reads the portable nibbles of an [out, in] matrix from its file and returns them in the
         * kernel's layout as a uint8 tensor [out, in/2] of {@code manager}, owned by libtorch.
         */
        PtNDArray pack(TorchOps ops, PtNDManager manager, TensorInfo nibbles, int out, int in) {
            int half = in / 2;
            long total = (long) out * half;
            if (total > Integer.MAX_VALUE - 16) {
                throw new CheckpointException("'" + nibbles.name() + "' is too large to repack: " + total + " bytes");
            }
            if (scratch == null || scratch.capacity() < total) {
                scratch = ByteBuffer.allocateDirect((int) total);
            }
            ByteBuffer packed = scratch.clear().limit((int) total);
            int chunkRows = Math.max(layout.blockN(), (4 << 20) / half / layout.blockN() * layout.blockN());
            byte[] src = new byte[chunkRows * half];
            byte[] dst = new byte[chunkRows * half];
            try (FileChannel ch = FileChannel.open(nibbles.file(), StandardOpenOption.READ)) {
                for (int r0 = 0; r0 < out; r0 += chunkRows) {
                    int rows = Math.min(chunkRows, out - r0);
                    ByteBuffer into = ByteBuffer.wrap(src, 0, rows * half);
                    long at = nibbles.fileOffset() + (long) r0 * half;
                    while (into.hasRemaining()) {
                        if (ch.read(into, at + into.position()) < 0) {
                            throw new CheckpointException("'" + nibbles.name() + "' ends early in " + nibbles.file()
                                    + ": the file is truncated; re-run woq quantize --force");
                        }
                    }
                    packInParallel(layout, src, out, in, r0, rows, dst);
                    packed.put(dst, 0, rows * half);
                }
            } catch (IOException e) {
                throw new CheckpointException(
                        "Cannot read '" + nibbles.name() + "' from " + nibbles.file() + ": " + e.getMessage(), e);
            }
            packed.flip();
            // The tensor made from the buffer shares it; the clone is libtorch's own, so the buffer
            // can take the next matrix.
            try (PtNDManager scope = (PtNDManager) manager.newSubManager()) {
                PtNDArray view = (PtNDArray) scope.create(packed, new Shape(out, half), DataType.UINT8);
                return ops.copy(manager, view);
            }
        }
    }
}
