package dev.woq.spark;

import dev.woq.runtime.ConfigException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.StructType;

/**
 * A prompt with {@code {column}} placeholders, filled from each row. The columns are checked
 * against the input's schema before any work ({@link #checkColumns}); a row whose value is null,
 * empty or not valid text is refused with a {@link BadRow} naming the column.
 */
final class PromptTemplate implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)\\}");

    /** Literal text and column names, alternating: literal, column, literal, ..., literal. */
    private final List<String> pieces;

    private PromptTemplate(List<String> pieces) {
        this.pieces = pieces;
    }

    /** @throws ConfigException when the template names no column */
    static PromptTemplate parse(String template) {
        List<String> pieces = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(template);
        int at = 0;
        while (m.find()) {
            pieces.add(template.substring(at, m.start()));
            pieces.add(m.group(1));
            at = m.end();
        }
        pieces.add(template.substring(at));
        if (pieces.size() == 1) {
            throw new ConfigException("The prompt '" + template + "' has no {column} placeholder: name the input column"
                    + " to fill in, as in 'Summarize:\\n{text}'");
        }
        return new PromptTemplate(List.copyOf(pieces));
    }

    /** The columns the template reads, in order of first use. */
    Set<String> columns() {
        Set<String> columns = new LinkedHashSet<>();
        for (int i = 1; i < pieces.size(); i += 2) {
            columns.add(pieces.get(i));
        }
        return columns;
    }

    /** @throws WoqSparkException naming the missing columns and those there are */
    void checkColumns(StructType schema) {
        List<String> names = Arrays.asList(schema.fieldNames());
        List<String> missing = columns().stream().filter(c -> !names.contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new WoqSparkException("The prompt reads column" + (missing.size() > 1 ? "s " : " ") + missing
                    + " but the input has only " + names + ": fix the {column} placeholders or the input");
        }
    }

    /** Each column's text in {@code row}, checked; {@code schema} is the row's (rows in a partition may lack it). */
    Map<String, String> values(Row row, StructType schema) throws BadRow {
        Map<String, String> values = new LinkedHashMap<>();
        for (String column : columns()) {
            values.put(column, text(row, schema, column));
        }
        return values;
    }

    /** The prompt with each placeholder replaced by its column's text. */
    String render(Map<String, String> values) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < pieces.size(); i++) {
            out.append(i % 2 == 0 ? pieces.get(i) : values.get(pieces.get(i)));
        }
        return out.toString();
    }

    private static String text(Row row, StructType schema, String column) throws BadRow {
        int index = schema.fieldIndex(column);
        if (row.isNullAt(index)) {
            throw new BadRow("column '" + column + "' is null");
        }
        String text;
        if (schema.fields()[index].dataType() instanceof BinaryType) {
            text = strictUtf8(row.<byte[]>getAs(index), column);
        } else {
            text = String.valueOf(row.get(index));
        }
        if (text.isBlank()) {
            throw new BadRow("column '" + column + "' is empty");
        }
        checkText(text, column);
        return text;
    }

    private static String strictUtf8(byte[] bytes, String column) throws BadRow {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            return decoder.decode(in).toString();
        } catch (CharacterCodingException e) {
            throw new BadRow("column '" + column + "' is not valid UTF-8 (at byte " + in.position() + ")");
        }
    }

    /**
     * Refuses text that was not valid UTF-8 where it came from: Spark's readers replace such bytes
     * by U+FFFD, which would reach the model as if it were the text.
     */
    private static void checkText(String text, String column) throws BadRow {
        int at = text.indexOf('\uFFFD');
        if (at >= 0) {
            throw new BadRow("column '" + column + "' is not valid text: U+FFFD (a byte that was not UTF-8)"
                    + " at character " + at);
        }
    }

    /** What was wrong with one row: its message goes into that row's {@code error} column. */
    static final class BadRow extends Exception {
        BadRow(String message) {
            super(message, null, false, false);
        }
    }
}
