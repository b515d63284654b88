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
$TICKERD, so it covers the Makefile's own output but not a build."""

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
