package dev.woq.runtime.engine;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a TorchScript archive holding one parameterless module class whose methods are given as
 * TorchScript source. libtorch compiles the source when it loads the archive, which is how woq
 * reaches kernels (bf16 GEMM, fused int4/int8 matmuls, SDPA) that DJL's NDArray API lacks.
 *
 * <p>The layout is the one {@code torch.jit.save} produces for such a module: a zip of STORED
 * entries under one top folder, with the module object pickled in {@code data.pkl}.
 */
public final class TorchScriptArchive {
    private TorchScriptArchive() {}

    /**
     * Writes the archive.
     *
     * @param target file to write
     * @param className module class name in {@code __torch__} (e.g. {@code Ops})
     * @param source TorchScript source of {@code code/__torch__.py}, defining {@code className}
     */
    public static void write(Path target, String className, String source) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickledModule(className));
        entries.put("archive/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
        entries.put("archive/constants.pkl", new byte[] {(byte) 0x80, 0x02, ')', '.'});
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        entries.put("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        try (OutputStream out = Files.newOutputStream(target);
                ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                byte[] data = e.getValue();
                ZipEntry entry = new ZipEntry(e.getKey());
                // libtorch's reader wants uncompressed entries.
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(data.length);
                entry.setCompressedSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(data);
                zip.closeEntry();
            }
        }
    }

    /** Pickle (protocol 2) of {@code __torch__.<className>} with state {@code {'training': True}}. */
    static byte[] pickledModule(String className) {
        String pickle =
                "\u0080\u0002c__torch__\n"
                        + className
                        + "\nq\u0000)\u0081}(X\u0008\u0000\u0000\u0000trainingq\u0001\u0088ub.";
        return pickle.getBytes(StandardCharsets.ISO_8859_1);
    }
}
