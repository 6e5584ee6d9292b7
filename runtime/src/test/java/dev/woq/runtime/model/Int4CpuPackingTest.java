package dev.woq.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import dev.woq.runtime.engine.TorchDtype;
import dev.woq.runtime.engine.TorchOps;
import dev.woq.runtime.engine.TorchRuntime;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** woq's Java int4 packing produces libtorch's CPU kernel layout byte for byte. */
class Int4CpuPackingTest {
    @Test
    void thisLibtorchsLayoutIsOneWoqKnows() {
        TorchRuntime torch = TorchRuntime.start(2);
        Optional<Int4CpuPacking.Layout> layout = Int4CpuPacking.detect(torch.ops(), torch.manager());
        assertTrue(layout.isPresent(), "libtorch's int4 packing matches none of woq's layouts: loading falls back"
                + " to libtorch's slow conversion");
    }

    @Test
    void javaPackingEqualsLibtorchsForFullAndPartialBlocksAndManyChunks() {
        TorchRuntime torch = TorchRuntime.start(2);
        TorchOps ops = torch.ops();
        Int4CpuPacking.Layout layout = Int4CpuPacking.detect(ops, torch.manager()).orElseThrow();
        // 64 * 5 + 32 rows: full blocks, then a partial one; K = 384 columns.
        int n = 352;
        int k = 384;
        int[] codes = new int[n * k];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < codes.length; i++) {
            codes[i] = r.nextInt(16);
        }
        byte[] nibbles = new byte[n * k / 2];
        for (int i = 0; i < codes.length; i += 2) {
            nibbles[i / 2] = (byte) (codes[i] | (codes[i + 1] << 4));
        }
        byte[] expected;
        try (PtNDManager m = (PtNDManager) torch.manager().newSubManager()) {
            PtNDArray packed = ops.int4PackReference(m, (PtNDArray) m.create(codes, new Shape(n, k)));
            expected = packed.toByteArray();
        }
        byte[] whole = new byte[nibbles.length];
        Int4CpuPacking.pack(layout, nibbles, 0, n, k, 0, n, whole, 0);
        assertArrayEquals(expected, whole);

        // In chunks of two blocks, as the loader reads a file: the same bytes.
        byte[] chunked = new byte[nibbles.length];
        int chunk = 2 * layout.blockN();
        for (int r0 = 0; r0 < n; r0 += chunk) {
            int rows = Math.min(chunk, n - r0);
            Int4CpuPacking.pack(layout, nibbles, r0 * k / 2, n, k, r0, rows, chunked, r0 * k / 2);
        }
        assertArrayEquals(expected, chunked);
    }
}
