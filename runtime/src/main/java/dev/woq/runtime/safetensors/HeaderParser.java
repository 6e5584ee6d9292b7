package dev.woq.runtime.safetensors;

import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.woq.runtime.CheckpointException;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses a safetensors header's JSON and checks each entry on its own: known dtype, a shape of
 * non-negative integers, two integral {@code data_offsets} whose span is exactly the bytes the
 * shape needs. How the entries fit together and into the file is {@link SafetensorsFile}'s job.
 *
 * <p>It reads with Gson's streaming reader rather than a tree so that it can reject a tensor named
 * twice, which a tree would silently collapse into one.
 */
final class HeaderParser {
    static final String METADATA_KEY = "__metadata__";

    /** What the header holds: the free-form metadata and the tensors in header order. */
    record Header(Map<String, String> metadata, List<HeaderEntry> entries) {}

    private final Path file;
    private final JsonReader reader;

    private HeaderParser(Path file, String json) {
        this.file = file;
        this.reader = new JsonReader(new StringReader(json));
        this.reader.setStrictness(Strictness.STRICT);
    }

    static Header parse(Path file, String json) {
        HeaderParser parser = new HeaderParser(file, json);
        try {
            return parser.header();
        } catch (IOException | IllegalStateException | JsonParseException e) {
            throw new CheckpointException(file + " has a header that is not valid JSON (" + e.getMessage()
                    + "). The file is corrupt or not a safetensors file: re-download or re-export it.", e);
        }
    }

    private Header header() throws IOException {
        if (reader.peek() != JsonToken.BEGIN_OBJECT) {
            throw bad("its header is JSON " + describe(reader.peek()) + ", not an object");
        }
        Map<String, String> metadata = Map.of();
        List<HeaderEntry> entries = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        reader.beginObject();
        while (reader.hasNext()) {
            String name = reader.nextName();
            if (!seen.add(name)) {
                throw bad("its header names '" + name + "' twice");
            }
            if (name.equals(METADATA_KEY)) {
                metadata = metadata();
            } else {
                entries.add(entry(name));
            }
        }
        reader.endObject();
        if (reader.peek() != JsonToken.END_DOCUMENT) {
            throw bad("its header has more JSON after the closing '}'");
        }
        return new Header(metadata, entries);
    }

    private Map<String, String> metadata() throws IOException {
        if (reader.peek() == JsonToken.NULL) { // what the reference library reads as "no metadata"
            reader.nextNull();
            return Map.of();
        }
        if (reader.peek() != JsonToken.BEGIN_OBJECT) {
            throw bad("its " + METADATA_KEY + " is " + describe(reader.peek()) + ", not an object of strings");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        reader.beginObject();
        while (reader.hasNext()) {
            String key = reader.nextName();
            if (reader.peek() != JsonToken.STRING) {
                throw bad("its " + METADATA_KEY + " value for '" + key + "' is " + describe(reader.peek())
                        + "; the format allows only strings there");
            }
            metadata.put(key, reader.nextString());
        }
        reader.endObject();
        return Collections.unmodifiableMap(metadata);
    }

    private HeaderEntry entry(String name) throws IOException {
        if (reader.peek() != JsonToken.BEGIN_OBJECT) {
            throw badTensor(name, "its header entry is " + describe(reader.peek()) + ", not an object");
        }
        String dtypeName = null;
        List<Long> shape = null;
        long[] offsets = null;
        reader.beginObject();
        while (reader.hasNext()) {
            switch (reader.nextName()) {
                case "dtype" -> dtypeName = string(name, "dtype");
                case "shape" -> shape = integers(name, "shape");
                case "data_offsets" -> offsets = integers(name, "data_offsets").stream().mapToLong(Long::longValue).toArray();
                default -> reader.skipValue(); // the format defines no other keys; tolerate them as the reference does
            }
        }
        reader.endObject();
        if (dtypeName == null || shape == null || offsets == null) {
            throw badTensor(name, "its header entry lacks "
                    + (dtypeName == null ? "\"dtype\"" : shape == null ? "\"shape\"" : "\"data_offsets\""));
        }
        SafetensorsDtype dtype = SafetensorsDtype.fromName(dtypeName).orElse(null);
        if (dtype == null) {
            throw new CheckpointException(file + ": tensor '" + name + "' has dtype '" + dtypeName + "', which woq does"
                    + " not read (it reads " + SafetensorsDtype.knownNames() + "). Convert the checkpoint to BF16, F16"
                    + " or F32.");
        }
        if (offsets.length != 2) {
            throw badTensor(name, "its data_offsets has " + offsets.length + " numbers, not 2 (begin, end)");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw badTensor(name, "its data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        long needed = byteLength(name, dtype, shape);
        if (end - begin != needed) {
            throw badTensor(name, "shape " + Fmt.shape(shape) + " " + dtype + " needs " + Fmt.num(needed)
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + Fmt.num(end - begin));
        }
        return new HeaderEntry(name, dtype, List.copyOf(shape), begin, end);
    }

    private long byteLength(String name, SafetensorsDtype dtype, List<Long> shape) {
        try {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return Math.multiplyExact(n, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw badTensor(name, "shape " + Fmt.shape(shape) + " " + dtype + " is larger than 2^63 bytes");
        }
    }

    private String string(String tensor, String key) throws IOException {
        if (reader.peek() != JsonToken.STRING) {
            throw badTensor(tensor, "its \"" + key + "\" is " + describe(reader.peek()) + ", not a string");
        }
        return reader.nextString();
    }

    /** A JSON array of non-negative integers that fit a long, as shapes and offsets must be. */
    private List<Long> integers(String tensor, String key) throws IOException {
        if (reader.peek() != JsonToken.BEGIN_ARRAY) {
            throw badTensor(tensor, "its \"" + key + "\" is " + describe(reader.peek()) + ", not an array");
        }
        List<Long> values = new ArrayList<>();
        reader.beginArray();
        while (reader.hasNext()) {
            if (reader.peek() != JsonToken.NUMBER) {
                throw badTensor(tensor, "its \"" + key + "\" holds " + describe(reader.peek()) + ", not only numbers");
            }
            String literal = reader.nextString();
            long value;
            try {
                value = new BigDecimal(literal).longValueExact();
            } catch (ArithmeticException | NumberFormatException e) {
                throw badTensor(tensor, "its \"" + key + "\" holds " + literal + ", not an integer that fits 64 bits");
            }
            if (value < 0) {
                throw badTensor(tensor, "its \"" + key + "\" holds " + literal + ", which is negative");
            }
            values.add(value);
        }
        reader.endArray();
        return values;
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case BEGIN_ARRAY -> "an array";
            case BEGIN_OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case END_DOCUMENT -> "empty";
            default -> token.toString();
        };
    }

    private CheckpointException bad(String what) {
        return new CheckpointException(file + " is not a valid safetensors file: " + what
                + ". Re-download or re-export it.");
    }

    private CheckpointException badTensor(String tensor, String what) {
        return new CheckpointException(file + ": tensor '" + tensor + "' is malformed: " + what
                + ". The file is corrupt or was written by a faulty tool: re-download or re-export it.");
    }
}
