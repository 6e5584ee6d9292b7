package dev.woq.runtime.format;

import dev.woq.runtime.CheckpointException;
import dev.woq.runtime.ConfigException;
import dev.woq.runtime.safetensors.SafetensorsCheckpoint;
import dev.woq.runtime.safetensors.SafetensorsDtype;
import dev.woq.runtime.safetensors.TensorInfo;
import java.util.List;
import java.util.Locale;

/**
 * How a model's projection weights are stored and multiplied: bf16 as the checkpoint holds them,
 * int8 with a scale per group of 32 inputs (or, in older entries, per output channel), or int4 with a
 * scale and zero point per group of inputs.
 * It is what {@code --dtype} (with {@code --group-size}) means, from the command line to the
 * registry entry's name and the kernels that run it.
 */
public sealed interface WeightFormat permits WeightFormat.Bf16, WeightFormat.Int8, WeightFormat.Int8G32, WeightFormat.Int4,
        WeightFormat.Int4Q32 {
    /** bf16 weights, as the Hugging Face checkpoint holds them. */
    WeightFormat BF16 = new Bf16();
    /** int8 codes with one bf16 scale per output channel (entries made before {@link #INT8_G32}). */
    WeightFormat INT8 = new Int8();
    /** int8 codes with a bf16 scale per group of 32 inputs, as llama.cpp's Q8_0 blocks: what {@code --dtype int8} means. */
    WeightFormat INT8_G32 = new Int8G32();
    /** The group size of {@link Int4} (bf16 scales) when an old recipe names none. */
    int DEFAULT_GROUP_SIZE = 128;
    /** int4 in groups of 32 with 8-bit scale and zero codes, 4.5 bits a weight. */
    WeightFormat INT4_Q32 = new Int4Q32();
    /** What {@code --dtype int4} means: {@link #INT4_Q32}. */
    WeightFormat INT4 = INT4_Q32;

    /** The name a registry entry and the startup line use: {@code bf16}, {@code int8}, {@code int4-q32}, {@code int4-g128}. */
    String id();

    /** What {@code --dtype} says: {@code bf16}, {@code int8} or {@code int4}. */
    String dtype();

    /** Bits stored per weight, scales and zero points included. */
    double bitsPerWeight();

    /** Whether the weights are quantized (stored in a registry entry rather than the model directory). */
    default boolean quantized() {
        return !(this instanceof Bf16);
    }

    /** What a stored tensor of a projection holds. */
    enum Role { WEIGHT, CODES, SCALES, ZEROS, SCALE_MAX }

    /** One tensor a projection is stored as: its name in the checkpoint, dtype and shape. */
    record StoredTensor(Role role, String name, SafetensorsDtype dtype, long... shape) {
        /** Bytes of its data. */
        public long bytes() {
            long n = dtype.byteSize();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /**
     * The tensors projection {@code weightName} ({@code P.weight}, [out, in]) is stored as in this
     * format: {@code P.weight} in bf16; {@code P.qweight} I8 [out, in] and {@code P.scales} bf16 [out]
     * in int8; {@code P.qweight} U8 [out, in/2] (two codes a byte, low nibble = even input),
     * {@code P.scales} and {@code P.zeros} bf16 [out, in/g] in int4; the same codes, {@code P.scales}
     * and {@code P.zeros} U8 [out, in/32] and {@code P.scale_max} F32 [1] in int4-q32. The layout the
     * quantizer writes, the loader maps and the kernels read.
     */
    List<StoredTensor> storedTensors(String weightName, long out, long in);

    /** Bytes a projection of [out, in] takes in this format, scales and zeros included: what decode reads per token. */
    default long storedBytes(long out, long in) {
        return storedTensors("w.weight", out, in).stream().mapToLong(StoredTensor::bytes).sum();
    }

    /** {@code P} of {@code P.weight}: the stem every stored tensor of a projection shares. */
    static String stem(String weightName) {
        return weightName.endsWith(".weight") ? weightName.substring(0, weightName.length() - ".weight".length()) : weightName;
    }

    /**
     * The format projection {@code weightName} with {@code in} inputs is stored in by
     * {@code checkpoint}, read from what it holds: {@code P.weight} is bf16 (F16 and F32 are
     * converted at load), {@code P.qweight} I8 is int8, {@code P.qweight} U8 is int4-q32 when its
     * scales are U8, else int4 with the group size its bf16 scales' width gives.
     *
     * @throws CheckpointException naming the tensor when it fits none of the layouts
     */
    static WeightFormat stored(SafetensorsCheckpoint checkpoint, String weightName, long in) {
        String stem = stem(weightName);
        if (!checkpoint.contains(stem + ".qweight")) {
            return BF16;
        }
        TensorInfo codes = checkpoint.tensor(stem + ".qweight");
        if (codes.dtype() == SafetensorsDtype.I8) {
            return checkpoint.contains(stem + ".scales") && checkpoint.tensor(stem + ".scales").rank() == 2 ? INT8_G32 : INT8;
        }
        if (codes.dtype() == SafetensorsDtype.U8) {
            TensorInfo scales = checkpoint.tensor(stem + ".scales");
            if (scales.dtype() == SafetensorsDtype.U8) {
                return INT4_Q32;
            }
            long[] s = scales.shapeArray();
            if (s.length != 2 || s[1] < 1 || in % s[1] != 0) {
                throw new CheckpointException("Tensor '" + stem + ".scales' in " + scales.file() + " has shape "
                        + java.util.Arrays.toString(s) + ", which gives no whole group size for " + in
                        + " inputs: re-run woq quantize --force");
            }
            try {
                return new Int4(Math.toIntExact(in / s[1]));
            } catch (ConfigException e) {
                throw new CheckpointException("Tensor '" + stem + ".scales' in " + scales.file() + ": " + e.getMessage()
                        + " Re-run woq quantize --force.", e);
            }
        }
        throw new CheckpointException("Tensor '" + stem + ".qweight' in " + codes.file() + " is " + codes.dtype()
                + ": woq's quantized layouts store U8 (int4) or I8 (int8) codes");
    }

    /** bf16: two bytes a weight. */
    record Bf16() implements WeightFormat {
        @Override
        public String id() {
            return "bf16";
        }

        @Override
        public String dtype() {
            return "bf16";
        }

        @Override
        public double bitsPerWeight() {
            return 16;
        }

        @Override
        public List<StoredTensor> storedTensors(String weightName, long out, long in) {
            return List.of(new StoredTensor(Role.WEIGHT, weightName, SafetensorsDtype.BF16, out, in));
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /** Symmetric int8 per output channel; the scale's 16 bits per row are negligible per weight. */
    record Int8() implements WeightFormat {
        @Override
        public String id() {
            return "int8";
        }

        @Override
        public String dtype() {
            return "int8";
        }

        @Override
        public double bitsPerWeight() {
            return 8;
        }

        @Override
        public List<StoredTensor> storedTensors(String weightName, long out, long in) {
            String stem = WeightFormat.stem(weightName);
            return List.of(
                    new StoredTensor(Role.CODES, stem + ".qweight", SafetensorsDtype.I8, out, in),
                    new StoredTensor(Role.SCALES, stem + ".scales", SafetensorsDtype.BF16, out));
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * Symmetric int8 in groups of 32 inputs, each with a bf16 scale: 8.5 bits a weight, the bits of
     * llama.cpp's Q8_0 (an fp16 scale per 32). A per-channel scale is stretched by the few large
     * weights of a row's outlier input columns; a scale per 32 confines them to their group.
     */
    record Int8G32() implements WeightFormat {
        /** Inputs per group, each with its own scale. */
        public static final int GROUP_SIZE = 32;

        @Override
        public String id() {
            return "int8-g32";
        }

        @Override
        public String dtype() {
            return "int8";
        }

        @Override
        public double bitsPerWeight() {
            return 8 + 16.0 / GROUP_SIZE;
        }

        @Override
        public List<StoredTensor> storedTensors(String weightName, long out, long in) {
            String stem = WeightFormat.stem(weightName);
            return List.of(
                    new StoredTensor(Role.CODES, stem + ".qweight", SafetensorsDtype.I8, out, in),
                    new StoredTensor(Role.SCALES, stem + ".scales", SafetensorsDtype.BF16, out, in / GROUP_SIZE));
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * Asymmetric int4, group-wise along the input dimension: a bf16 scale and zero per group.
     *
     * @param groupSize 32, 64 or 128
     */
    record Int4(int groupSize) implements WeightFormat {
        /** The group sizes the kernels run, as a user reads them in an error. */
        public static final String GROUP_SIZES_TEXT = "32, 64 or 128";

        public Int4 {
            if (groupSize != 32 && groupSize != 64 && groupSize != 128) {
                throw new ConfigException("Unsupported int4 group size " + groupSize + ": choose " + GROUP_SIZES_TEXT
                        + " (smaller groups are more accurate and a little larger on disk).");
            }
        }

        @Override
        public String id() {
            return "int4-g" + groupSize;
        }

        @Override
        public String dtype() {
            return "int4";
        }

        @Override
        public double bitsPerWeight() {
            return 4 + 32.0 / groupSize;
        }

        @Override
        public List<StoredTensor> storedTensors(String weightName, long out, long in) {
            String stem = WeightFormat.stem(weightName);
            return List.of(
                    new StoredTensor(Role.CODES, stem + ".qweight", SafetensorsDtype.U8, out, in / 2),
                    new StoredTensor(Role.SCALES, stem + ".scales", SafetensorsDtype.BF16, out, in / groupSize),
                    new StoredTensor(Role.ZEROS, stem + ".zeros", SafetensorsDtype.BF16, out, in / groupSize));
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * int4 in groups of 32 whose scale and zero point are themselves 8-bit codes: 4 bits a code,
     * plus 8 + 8 bits per 32 weights, 4.5 bits a weight (and one fp32 per matrix). Where
     * {@link Int4} spends a bf16 scale and zero on each group, this spends a byte on each: the
     * groups are four times smaller than int4-g128's for 0.25 bit more, which is what k-quants do
     * with their 6-bit scales inside super-blocks.
     *
     * <p>A weight is {@code w = (q - zc / 16) * scale}, {@code scale = scaleMax * 2^(-c / 16)}: the
     * scale code {@code c} (0..255) steps down from the matrix's largest scale {@code scaleMax} in
     * sixteenths of an octave (4.4 % apart, 16 octaves deep), and the zero point {@code zc / 16}
     * (0..15.94) is in sixteenths of a step. For the kernels' form {@code (q - 8) * scale + zero},
     * {@code zero = (8 - zc / 16) * scale}, in fp32.
     */
    record Int4Q32() implements WeightFormat {
        /** Inputs per group: each has its own scale and zero code. */
        public static final int GROUP_SIZE = 32;
        /** Scale codes per octave: {@code scale = scaleMax * 2^(-c / SCALE_STEPS_PER_OCTAVE)}. */
        public static final int SCALE_STEPS_PER_OCTAVE = 16;
        /** Zero-point codes per quantization step: {@code zeroPoint = zc / ZERO_STEPS}. */
        public static final int ZERO_STEPS = 16;

        private static final float[] SCALE_RATIOS = new float[256];

        static {
            for (int c = 0; c < 256; c++) {
                SCALE_RATIOS[c] = (float) Math.pow(2.0, -c / (double) SCALE_STEPS_PER_OCTAVE);
            }
        }

        /** {@code 2^(-c / 16)} as fp32: what scale code {@code c} (0..255) multiplies the matrix's largest scale by. */
        public static float scaleRatio(int c) {
            return SCALE_RATIOS[c];
        }

        /** The scale of a group with code {@code c} (0..255) in a matrix whose largest scale is {@code scaleMax}. */
        public static float scale(float scaleMax, int c) {
            return scaleMax * SCALE_RATIOS[c];
        }

        /** The zero point of zero code {@code zc} (0..255): {@code zc / 16}, in steps. */
        public static float zeroPoint(int zc) {
            return zc / (float) ZERO_STEPS;
        }

        /** The weight code {@code q} (0..15) stands for in a group of scale code {@code c} and zero code {@code zc}. */
        public static float weight(float scaleMax, int c, int zc, int q) {
            return (q - zeroPoint(zc)) * scale(scaleMax, c);
        }

        @Override
        public String id() {
            return "int4-q32";
        }

        @Override
        public String dtype() {
            return "int4";
        }

        @Override
        public double bitsPerWeight() {
            return 4 + 16.0 / GROUP_SIZE;
        }

        @Override
        public List<StoredTensor> storedTensors(String weightName, long out, long in) {
            String stem = WeightFormat.stem(weightName);
            return List.of(
                    new StoredTensor(Role.CODES, stem + ".qweight", SafetensorsDtype.U8, out, in / 2),
                    new StoredTensor(Role.SCALES, stem + ".scales", SafetensorsDtype.U8, out, in / GROUP_SIZE),
                    new StoredTensor(Role.ZEROS, stem + ".zeros", SafetensorsDtype.U8, out, in / GROUP_SIZE),
                    new StoredTensor(Role.SCALE_MAX, stem + ".scale_max", SafetensorsDtype.F32, 1));
        }

        @Override
        public String toString() {
            return id();
        }
    }

    /**
     * The format a command line asks for.
     *
     * @param dtype {@code bf16}, {@code int8} or {@code int4} (case-insensitive)
     * @param groupSize with int4, the group size of {@link Int4}'s bf16 scales, or {@code null} for
     *     {@link Int4Q32}; with int8, {@code null} or 32; refused with bf16
     * @throws ConfigException naming the value refused and the values accepted
     */
    static WeightFormat parse(String dtype, Integer groupSize) {
        String d = dtype == null ? "" : dtype.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "int4":
                return groupSize == null ? INT4 : new Int4(groupSize);
            case "int8":
                if (groupSize != null && groupSize != Int8G32.GROUP_SIZE) {
                    throw new ConfigException("Group size " + groupSize + " was given with int8, whose scales are per"
                            + " group of " + Int8G32.GROUP_SIZE + ". Drop the group size, or use int4 (group sizes "
                            + Int4.GROUP_SIZES_TEXT + ").");
                }
                return INT8_G32;
            case "bf16":
                if (groupSize != null) {
                    throw new ConfigException("A group size (--group-size " + groupSize + ") was given with bf16, which"
                            + " has no groups. Drop the group size, or use int4 (group sizes " + Int4.GROUP_SIZES_TEXT + ").");
                }
                return BF16;
            default:
                throw new ConfigException("Unknown dtype '" + dtype + "'. Choose bf16 (the checkpoint as it is), int8"
                        + " (a bf16 scale per group of 32, 8.5 bits a weight) or int4 (groups of 32 with 8-bit scale and"
                        + " zero codes, 4.5 bits; with --group-size " + Int4.GROUP_SIZES_TEXT + ", bf16 scales).");
        }
    }

    /** The format named by {@link #id()}: {@code bf16}, {@code int8}, {@code int4-g32}... */
    static WeightFormat ofId(String id) {
        String s = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        if (s.equals(INT4_Q32.id())) {
            return INT4_Q32;
        }
        if (s.equals(INT8_G32.id())) {
            return INT8_G32;
        }
        if (s.startsWith("int4-g")) {
            try {
                return new Int4(Integer.parseInt(s.substring("int4-g".length())));
            } catch (NumberFormatException e) {
                throw new ConfigException("Unknown weight format '" + id + "': expected bf16, int8, int4-q32 or int4-g<32|64|128>");
            }
        }
        if (s.equals("int4")) {
            throw new ConfigException("Weight format 'int4' needs its layout: int4-q32, int4-g32, int4-g64 or int4-g128");
        }
        return parse(s, null);
    }
}
