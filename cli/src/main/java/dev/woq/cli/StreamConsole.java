package dev.woq.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Plain lines in, text out: {@code printf 'hi\n' | woq chat ...}. No prompt is shown and Ctrl-C
 * keeps its usual meaning (end the process), as scripts expect.
 */
final class StreamConsole implements ChatConsole {
    private final BufferedReader in;
    private final PrintWriter out;

    StreamConsole(InputStream in, PrintWriter out) {
        this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.out = out;
    }

    @Override
    public String readLine(String prompt) {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the chat input", e);
        }
    }

    @Override
    public PrintWriter out() {
        return out;
    }

    @Override
    public boolean interactive() {
        return false;
    }

    @Override
    public void onInterrupt(Runnable action) {
        // Scripts stop with Ctrl-C, as any other program.
    }

    @Override
    public void close() {
        out.flush();
    }
}
