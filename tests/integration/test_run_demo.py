# SPDX-License-Identifier: Apache-2.0
"""`make run` / scripts/run-demo.sh: stdout carries only events (one JSON
object per line, so `make run | jq -c .` works), and a Ctrl-C ends it with
exit 0.

Ctrl-C is emulated as a terminal does it: SIGINT to the whole process group
(the script, the simulator and tickerd). The script is run the way `make run`
calls it (`scripts/run-demo.sh BINARY`), with $TICKERD (the sanitizer build)
instead of build/release/tickerd so that no release build is needed; the
`make run` test marks build-release as up to date (`make -o build-release`)
and points the Makefile's BUILD at a directory whose release/tickerd is
$TICKERD, so it covers the Makefile's own output but not a build. The last
test types the Ctrl-C on a real pseudo-terminal, under an interactive shell
running `make run | JSON-checker`: make's exit status must be 0."""

import json
import os
import signal
import subprocess
import time

import harness

# Sanitizer reports of any of the processes the script starts end up on its stderr.
SANITIZER = [m.decode() for m in harness.SANITIZER_MARKERS]


def start_demo(argv, tmp_path, free_port, backfill):
    env = dict(os.environ)
    env.update(harness.SANITIZER_ENV)
    env.update(SIM_PORT=str(free_port()), GW_PORT=str(free_port()), SIM_RATE="200",
               DEMO_BACKFILL="1" if backfill else "0", DEMO_DB=str(tmp_path / "demo.db"))
    out = open(tmp_path / "demo.out", "wb")
    err = open(tmp_path / "demo.err", "wb")
    # A session of its own: its process group is what a terminal's Ctrl-C reaches.
    p = subprocess.Popen(argv, cwd=harness.REPO, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    out.close()
    err.close()
    return p


def ctrl_c(p, tmp_path, wait_for=b"streaming", timeout=30.0):
    """Waits until tickerd streams (and a few events are out), sends SIGINT to
    the group, returns (returncode, stdout lines, stderr text)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and p.poll() is None:
            if (wait_for in (tmp_path / "demo.err").read_bytes()
                    and (tmp_path / "demo.out").read_bytes().count(b"\n") >= 20):
                break
            time.sleep(0.1)
        time.sleep(1.0)
        os.killpg(p.pid, signal.SIGINT)
        rc = p.wait(30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
    out = (tmp_path / "demo.out").read_bytes().decode()
    err = (tmp_path / "demo.err").read_bytes().decode(errors="replace")
    return rc, out.splitlines(), err


def assert_only_events(lines, err):
    assert len(lines) >= 20, f"too few events on stdout ({len(lines)})\n{err[-3000:]}"
    for line in lines:
        obj = json.loads(line)  # raises on the first line that is not JSON
        assert set(obj) == {"channel", "data"}, line
    for m in SANITIZER:
        assert m not in err, err[-8000:]


def test_demo_script_stdout_is_json_and_ctrl_c_exits_0(tickerd_bin, tmp_path, free_port):
    p = start_demo(["scripts/run-demo.sh", str(tickerd_bin)], tmp_path, free_port, backfill=True)
    rc, lines, err = ctrl_c(p, tmp_path)
    assert "caught SIGINT" in err, err[-3000:]
    assert rc == 0, f"exit {rc} after Ctrl-C\n{err[-3000:]}"
    assert_only_events(lines, err)
    assert "backfilling" in err and "the backfill failed" not in err, err[-3000:]


def test_make_run_stdout_is_json(tickerd_bin, tmp_path, free_port):
    build = tmp_path / "build"
    (build / "release").mkdir(parents=True)
    (build / "release" / "tickerd").symlink_to(tickerd_bin)
    p = start_demo(["make", "--no-print-directory", "-o", "build-release", f"BUILD={build}", "run"],
                   tmp_path, free_port, backfill=False)
    rc, lines, err = ctrl_c(p, tmp_path)
    assert_only_events(lines, err)
    # GNU make itself always dies of the SIGINT it got (after its child ended);
    # what must not happen is a failed recipe ("make: *** [...] Error 1").
    assert rc in (0, -signal.SIGINT), f"make exit {rc}\n{err[-3000:]}"
    assert "make: ***" not in err, err[-3000:]


CHECKER = r"""
import json, sys
n = 0
with open(sys.argv[1], "w") as count:
    for line in sys.stdin:
        json.loads(line)  # a line that is not JSON ends this with status 1
        n += 1
        count.write(f"{n}\n")
        count.flush()
"""


def test_make_run_ctrl_c_on_a_terminal_exits_0(tickerd_bin, tmp_path, free_port):
    """`make run | JSON-check` on a pseudo-terminal, as typed in a shell, and a
    Ctrl-C typed on it (\\x03 to the master: the line discipline sends SIGINT
    to the terminal's foreground process group). make exits 0, and every
    stdout line parsed as JSON."""
    import fcntl
    import pty
    import termios
    import threading
    build = tmp_path / "build"
    (build / "release").mkdir(parents=True)
    (build / "release" / "tickerd").symlink_to(tickerd_bin)
    (tmp_path / "check.py").write_text(CHECKER)
    count, status = tmp_path / "count", tmp_path / "status"
    script = (f"make --no-print-directory -o build-release BUILD={build} run | "
              f"/usr/bin/python3 {tmp_path}/check.py {count}; "
              f'echo "${{PIPESTATUS[0]}} ${{PIPESTATUS[1]}}" > {status}')
    env = dict(os.environ)
    env.update(harness.SANITIZER_ENV)
    env.update(SIM_PORT=str(free_port()), GW_PORT=str(free_port()), SIM_RATE="200",
               DEMO_BACKFILL="0", DEMO_DB=str(tmp_path / "demo.db"))
    env.pop("TICKERD_DEMO_FG", None)
    master, slave = pty.openpty()

    def controlling_tty():  # a session whose terminal is the pty, like a login shell's
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    # An interactive shell, as in a terminal: job control puts the pipeline
    # in a process group of its own and makes it the terminal's foreground
    p = subprocess.Popen(["bash", "--norc", "--noprofile", "-i", "-c", script], cwd=harness.REPO, stdin=slave, stdout=slave,
                         stderr=slave, env=env, preexec_fn=controlling_tty)
    os.close(slave)
    screen = bytearray()

    def drain():  # what the terminal shows (make's and tickerd's stderr)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            screen.extend(chunk)

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            n = count.read_text().count("\n") if count.exists() else 0
            if n >= 20 and b"streaming" in screen:
                break
            time.sleep(0.1)
        assert p.poll() is None, bytes(screen).decode(errors="replace")[-3000:]
        os.write(master, b"\x03")  # Ctrl-C
        p.wait(30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
        os.close(master)
        t.join(5)
    shown = bytes(screen).decode(errors="replace")
    # an interactive shell abandons its command line when a job dies of SIGINT
    assert status.exists(), f"make died of the Ctrl-C (the shell stopped)\n{shown[-3000:]}"
    make_rc, check_rc = status.read_text().split()
    assert "caught SIGINT" in shown, shown[-3000:]
    assert make_rc == "0", f"make exit {make_rc} after Ctrl-C\n{shown[-3000:]}"
    assert check_rc == "0", f"a stdout line was not JSON\n{shown[-3000:]}"
    assert int(count.read_text().split()[-1]) >= 20
    assert "make: ***" not in shown, shown[-3000:]
    for m in SANITIZER:
        assert m not in shown, shown[-8000:]
