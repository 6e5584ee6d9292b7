#!/usr/bin/env python3
"""Runs a command and times its stdout as a reader sees it: one JSON line with the time to the
first chunk and the median interval between chunks, which for a streamed reply is the time per
token (woq and curl write each token as it comes). Part of run-decode-parity.sh.

With --pty the command runs on a pseudo-terminal, as a person's woq chat does (line editing,
echo): each input line is typed once the chat shows its ">>> " prompt, and Ctrl-D ends it.

usage: stream-timer.py LABEL INPUT_FILE|- OUT_FILE [--pty] -- COMMAND [ARGS...]
"""
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import termios
import time


PROMPT = b">>> "


def run_piped(command, input_file):
    stdin = subprocess.DEVNULL if input_file == "-" else open(input_file, "rb")
    proc = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE)
    stamps, data = [], bytearray()
    while True:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        stamps.append(time.monotonic())
        data += chunk
    return proc.wait(), stamps, data


def run_on_a_terminal(command, input_file):
    """Types each line after the prompt; only output between a line and the next prompt is timed."""
    lines = [] if input_file == "-" else open(input_file, "rb").read().splitlines()
    pid, fd = pty.fork()
    if pid == 0:
        # A terminal of 24 x 200: with none set (0 columns) JLine shortens its prompt to fit.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        os.execvp(command[0], command)
    stamps, data, seen = [], bytearray(), 0
    replying = False
    while True:
        ready, _, _ = select.select([fd], [], [], 600)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
        # Only reply text counts: JLine's own writes (redrawing the line) carry escape sequences.
        if replying and b"\x1b" not in chunk:
            stamps.append(time.monotonic())
        if data.find(PROMPT, seen) >= 0:
            seen = len(data)
            replying = bool(lines)
            os.write(fd, lines.pop(0) + b"\r" if lines else b"\x04")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stamps, data


def main():
    args = sys.argv[1:]
    on_a_terminal = "--pty" in args[:4]
    if on_a_terminal:
        args.remove("--pty")
    if len(args) < 5 or args[3] != "--":
        sys.exit(__doc__)
    label, input_file, out_file, command = args[0], args[1], args[2], args[4:]
    start = time.monotonic()
    code, stamps, data = (run_on_a_terminal if on_a_terminal else run_piped)(command, input_file)
    with open(out_file, "wb") as f:
        f.write(data)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    median = statistics.median(gaps) if gaps else float("nan")
    print(json.dumps({
        "path": label, "exit": code, "chunks": len(stamps),
        "first_chunk_s": round(stamps[0] - start, 3) if stamps else None,
        "median_interval_ms": round(median * 1e3, 2),
        "tokens_per_second": round(1 / median, 3) if gaps and median > 0 else None,
    }))


if __name__ == "__main__":
    main()
