package dev.woq.cli;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.chat.ChatReply;
import dev.woq.runtime.chat.Conversation;
import dev.woq.runtime.generate.GenerationConfig;
import dev.woq.runtime.generate.GenerationResult;
import dev.woq.runtime.generate.StopReason;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The read-reply loop of {@code woq chat}: a line is either a /command or a user message, whose
 * reply is printed whole or streamed. Problems with one message are reported and the chat goes on.
 * With {@code --index} each message is a question over the documents ({@link DocumentTurns}).
 */
final class ChatLoop {
    static final String PROMPT = ">>> ";
    static final String HELP = String.join("\n",
            "/reset         start a new conversation (the system prompt stays)",
            "/system TEXT   set the system prompt; /system alone shows it, /system - removes it",
            "/stats         speed of the last reply and how much of the context is used",
            "/help          this list",
            "/exit          leave (Ctrl-D too); Ctrl-C stops a reply in progress");

    /** What /help says with --index instead of /reset and /system. */
    static final String DOCUMENT_HELP = String.join("\n",
            "/sources       the passages of the last answer: n, file, page, score",
            "/stats         retrieval time, prompt tokens and speed of the last answer",
            "/help          this list",
            "/exit          leave (Ctrl-D too)",
            "Each message is a question over the index, answered from its passages alone.");

    private final Conversation conversation; // null with --index
    private final DocumentTurns documents; // null without --index
    private final GenerationConfig config;
    private final ChatConsole console;
    private final PrintWriter err;
    private final boolean stream;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private ChatReply last;
    private boolean toldAboutTrimming;
    private int failedTurns;

    ChatLoop(Conversation conversation, GenerationConfig config, ChatConsole console, PrintWriter err, boolean stream) {
        this(conversation, null, config, console, err, stream);
    }

    /** {@code woq chat --index}: each message is asked over the index by {@code documents}. */
    ChatLoop(DocumentTurns documents, ChatConsole console, PrintWriter err, boolean stream) {
        this(null, documents, null, console, err, stream);
    }

    private ChatLoop(Conversation conversation, DocumentTurns documents, GenerationConfig config, ChatConsole console,
            PrintWriter err, boolean stream) {
        this.conversation = conversation;
        this.documents = documents;
        this.config = config;
        this.console = console;
        this.err = err;
        this.stream = stream;
    }

    /** Runs until /exit or the end of input; returns the exit code. */
    int run() {
        console.onInterrupt(() -> cancelled.set(true));
        while (true) {
            String line;
            try {
                line = console.readLine(PROMPT);
            } catch (ChatConsole.Interrupted e) {
                console.out().println("(Ctrl-D or /exit leaves)");
                console.out().flush();
                continue;
            }
            if (line == null) {
                break;
            }
            String text = line.strip();
            if (text.isEmpty()) {
                continue;
            }
            if (text.startsWith("/")) {
                if (!(documents != null ? documentCommand(text) : command(text))) {
                    break;
                }
                continue;
            }
            if (documents != null) {
                documentTurn(text);
            } else {
                turn(text);
            }
        }
        console.out().flush();
        // A script learns that a message was refused; a person saw it on the screen.
        return failedTurns > 0 && !console.interactive() ? Main.EXIT_USER_ERROR : 0;
    }

    /** Handles a /command; false means leave. */
    private boolean command(String text) {
        String name = text.split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
        String arg = text.length() > name.length() ? text.substring(name.length()).strip() : "";
        PrintWriter out = console.out();
        switch (name) {
            case "/exit", "/quit", "/bye" -> {
                return false;
            }
            case "/help", "/?" -> out.println(HELP);
            case "/reset", "/clear" -> {
                conversation.reset();
                last = null;
                out.println("(new conversation)");
            }
            case "/system" -> {
                if (arg.isEmpty()) {
                    out.println(conversation.systemPrompt().map(s -> "system prompt: " + s).orElse("(no system prompt)"));
                } else if (arg.equals("-")) {
                    conversation.setSystemPrompt(null);
                    out.println("(system prompt removed)");
                } else {
                    conversation.setSystemPrompt(arg);
                    out.println("(system prompt set)");
                }
            }
            case "/stats" -> out.println(stats());
            default -> out.println("Unknown command " + name + ": /help lists the commands");
        }
        out.flush();
        return true;
    }

    /** A /command of {@code woq chat --index}; false means leave. */
    private boolean documentCommand(String text) {
        String name = text.split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
        PrintWriter out = console.out();
        switch (name) {
            case "/exit", "/quit", "/bye" -> {
                return false;
            }
            case "/help", "/?" -> out.println(DOCUMENT_HELP);
            case "/sources" -> out.println(documents.sources());
            case "/stats" -> out.println(documents.stats());
            case "/reset", "/clear", "/system" -> out.println(name + " does nothing with --index: each question is"
                    + " asked on its own, with its passages and woq ask's instructions");
            default -> out.println("Unknown command " + name + ": /help lists the commands");
        }
        out.flush();
        return true;
    }

    /** One question over the index: the answer streamed or whole, then a hint at /sources. */
    private void documentTurn(String question) {
        PrintWriter out = console.out();
        dev.woq.rag.Answer answer;
        try {
            answer = documents.ask(question, piece -> {
                if (stream) {
                    out.print(piece);
                    out.flush();
                }
            });
        } catch (WoqException e) {
            failedTurns++;
            err.println("woq: " + e.getMessage());
            err.flush();
            return;
        }
        if (!stream) {
            out.print(answer.text());
        }
        out.println();
        out.flush();
        if (!answer.dropped().isEmpty()) {
            err.printf(Locale.ROOT, "(%d of %d passages did not fit in the context; /sources lists them)%n",
                    answer.dropped().size(), answer.dropped().size() + answer.sources().size());
        }
        if (answer.stopReason() == StopReason.CONTEXT_FULL) {
            err.println("(the context is full: the answer was cut)");
        }
        err.flush();
    }

    private void turn(String message) {
        PrintWriter out = console.out();
        cancelled.set(false);
        ChatReply reply;
        try {
            reply = conversation.reply(message, config, piece -> {
                if (stream) {
                    out.print(piece);
                    out.flush();
                }
            }, cancelled::get);
        } catch (WoqException e) {
            failedTurns++;
            err.println("woq: " + e.getMessage());
            err.flush();
            return;
        }
        if (!stream) {
            out.print(reply.text());
        }
        out.println();
        out.flush();
        last = reply;
        if (reply.generation().stopReason() == StopReason.CANCELLED) {
            err.println("(stopped)");
        } else if (reply.generation().stopReason() == StopReason.CONTEXT_FULL) {
            err.println("(the context is full: the reply was cut; the oldest turns make room next time)");
        }
        if (reply.droppedTurns() > 0 && !toldAboutTrimming) {
            toldAboutTrimming = true;
            err.printf(Locale.ROOT, "(the conversation outgrew its %,d-token context: the oldest turns are dropped"
                    + " from now on; the system prompt stays)%n", reply.contextSize());
        }
        err.flush();
    }

    private String stats() {
        String context = String.format(Locale.ROOT, "context: %,d of %,d tokens used",
                conversation.contextUsed(), conversation.contextSize());
        if (last == null) {
            return "no reply yet; " + context;
        }
        GenerationResult g = last.generation();
        double decode = g.decodeTokensPerSecond();
        return String.format(Locale.ROOT,
                "prompt: %d tokens computed (%d reused from the cache), %.1f tok/s; first token after %.2f s%n"
                        + "reply: %d tokens, %s; stop: %s%n%s",
                last.prefilledTokens(), last.reusedTokens(), g.prefillTokensPerSecond(),
                g.timeToFirstTokenNanos() / 1e9, g.generatedIds().length,
                Double.isNaN(decode) ? "one token" : String.format(Locale.ROOT, "%.2f tok/s", decode),
                g.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '), context);
    }
}
