/**
 * The {@code woq} command line (picocli): one command class per job, shared option mixins, the
 * chat consoles. Every command returns an exit code; user errors print one line. Uses the runtime
 * and the server through their public API, never kernel internals.
 */
package dev.woq.cli;
