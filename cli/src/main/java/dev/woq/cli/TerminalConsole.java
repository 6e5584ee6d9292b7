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
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * A person at a terminal: JLine's line editor, with arrow-key history kept in a file across
 * sessions, and Ctrl-C delivered to the chat instead of ending the process.
 *
 * <p>Ctrl-C reaches the chat by two routes, because JLine routes SIGINT itself only on terminals
 * it drives natively (xterm, screen, vt100...): on those, {@link Terminal#handle} registers it.
 * On a dumb terminal (TERM=dumb, an editor's shell) JLine leaves the signal alone, so the JVM's
 * own handler would end the process with status 130. A handler installed before JLine starts is
 * what JLine saves and puts back, and it serves those terminals; {@link #close} restores the
 * JVM's handler last.
 */
final class TerminalConsole implements ChatConsole {
    private static final Signal INT = new Signal("INT");

    private final SignalHandler jvmInterruptHandler;
    private volatile Runnable onInterrupt = () -> { };
    private final Terminal terminal;
    private final LineReader reader;
    private final PrintWriter out;

    TerminalConsole(Path historyFile) {
        this.jvmInterruptHandler = install(signal -> onInterrupt.run());
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
        onInterrupt = action;
        terminal.handle(Terminal.Signal.INT, signal -> action.run());
    }

    @Override
    public void close() {
        try {
            reader.getHistory().save();
        } catch (IOException e) {
            // The history is a convenience: losing it must not fail the exit.
        }
        try {
            terminal.close();
        } catch (IOException e) {
            // Nothing is left to give back to a terminal that cannot be closed.
        }
        if (jvmInterruptHandler != null) {
            install(jvmInterruptHandler);
        }
    }

    /** Installs a SIGINT handler and returns the previous one, or null where the JVM has none. */
    private static SignalHandler install(SignalHandler handler) {
        try {
            return Signal.handle(INT, handler);
        } catch (IllegalArgumentException e) {
            // SIGINT is ignored (nohup, a background job) or reserved (-Xrs): Ctrl-C cannot arrive.
            return null;
        }
    }
}
