package dev.woq.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * A person at a terminal: JLine's line editor, with arrow-key history kept in a file across
 * sessions, and Ctrl-C delivered to the chat instead of ending the process.
 */
final class TerminalConsole implements ChatConsole {
    private final Terminal terminal;
    private final LineReader reader;
    private final PrintWriter out;

    TerminalConsole(Path historyFile) {
        try {
            this.terminal = TerminalBuilder.builder().system(true).build();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the terminal", e);
        }
        this.reader = LineReaderBuilder.builder()
                .terminal(terminal)
                .appName("woq")
                .variable(LineReader.HISTORY_FILE, historyFile)
                .variable(LineReader.HISTORY_FILE_SIZE, 1000)
                .build();
        this.out = terminal.writer();
    }

    @Override
    public String readLine(String prompt) {
        try {
            return reader.readLine(prompt);
        } catch (UserInterruptException e) {
            throw new Interrupted();
        } catch (EndOfFileException e) {
            return null;
        }
    }

    @Override
    public PrintWriter out() {
        return out;
    }

    @Override
    public boolean interactive() {
        return true;
    }

    @Override
    public void onInterrupt(Runnable action) {
        // While a line is read, JLine handles Ctrl-C itself (UserInterruptException) and then
        // restores this handler, which serves the time in between: generation.
        terminal.handle(Terminal.Signal.INT, signal -> action.run());
    }

    @Override
    public void close() {
        try {
            reader.getHistory().save();
            terminal.close();
        } catch (IOException e) {
            // The history is a convenience: losing it must not fail the exit.
        }
    }
}
