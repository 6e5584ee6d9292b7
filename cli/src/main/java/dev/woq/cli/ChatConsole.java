package dev.woq.cli;

import java.io.Closeable;
import java.io.PrintWriter;

/** Where {@code woq chat} reads the user's lines and writes replies: a terminal or plain streams. */
interface ChatConsole extends Closeable {
    /** Thrown by {@link #readLine} when the user pressed Ctrl-C at the prompt. */
    final class Interrupted extends RuntimeException {
        Interrupted() {
            super(null, null, false, false);
        }
    }

    /**
     * The next line the user typed.
     *
     * @return the line, or null at the end of input (Ctrl-D, end of a pipe)
     * @throws Interrupted on Ctrl-C at the prompt
     */
    String readLine(String prompt);

    /** Where replies go. */
    PrintWriter out();

    /** Whether a person is typing: prompts and hints are shown only then. */
    boolean interactive();

    /** Runs {@code action} when the user presses Ctrl-C while a reply is being generated. */
    void onInterrupt(Runnable action);

    /** Gives the terminal back (and saves the history); never fails the exit. */
    @Override
    void close();
}
