# SPDX-License-Identifier: Apache-2.0
"""foreground.py COMMAND [ARG...]: runs COMMAND in a process group of its own
that it makes the terminal's foreground group, and gives the terminal back
when COMMAND ends; exits with COMMAND's status.

Why: a Ctrl-C on a terminal is a SIGINT to the terminal's whole foreground
process group. Under `make run` that group holds make itself, and GNU make
dies of that SIGINT (status 130, "make: *** ... Interrupted") even when its
recipe exits 0. With the demo in a foreground group of its own, the Ctrl-C
reaches only the demo; make sees its recipe end with 0 and exits 0.

Without a terminal, or when the caller is not in the terminal's foreground
group (e.g. `make run &`), COMMAND simply replaces this process. A SIGTERM,
SIGHUP or SIGINT sent to this process alone (e.g. by make on its own
SIGTERM) is passed on to COMMAND's group."""

import os
import signal
import sys


def main(argv):
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        fg = os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        tty, fg = -1, False
    # A Ctrl-C stops the demo even when started with SIGINT ignored (a
    # background job of a script): the shell could not trap it otherwise.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if not fg:
        if tty >= 0:
            os.close(tty)
        os.execvp(argv[0], argv)
    old = os.getpgrp()
    # A process not in the foreground group that calls tcsetpgrp gets
    # SIGTTOU; both calls below happen from such a process at some point.
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(tty, os.getpgrp())
        os.close(tty)
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    try:
        os.setpgid(pid, pid)  # the child does it too: whichever runs first
    except OSError:
        pass

    def forward(sig, _frame):
        try:
            os.killpg(pid, sig)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, forward)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    try:
        os.tcsetpgrp(tty, old)
    except OSError:
        pass
    os.close(tty)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: foreground.py COMMAND [ARG...]")
    sys.exit(main(sys.argv[1:]))
