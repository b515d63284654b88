# SPDX-License-Identifier: Apache-2.0
"""Every README shell block marked runnable is run as written, against
`tickerd sim`.

A runnable block is fenced as ```sh and its first line is a comment that
starts with `# runnable`; `# runnable; prints: TEXT` also requires TEXT in
its output. Each block runs with `bash -e` in a fresh temporary directory
(so the files it writes stay out of the tree), with `tickerd` on PATH being
$TICKERD, for at most BLOCK_SECONDS. Servers a block starts in the
background are stopped by the test once the block's last command returns
(SIGTERM to the block's process group). The only rewriting: the documented
ports (8765 the simulator, 8080/8081 gateways, 6379 Redis) are replaced by
free ones, so that the test never meets another server on them."""

import os
import re
import signal
import subprocess
import time

import pytest

import harness

README = harness.REPO / "README.md"
BLOCK_SECONDS = 60
PORTS = ("8765", "8080", "8081", "6379")
FENCE = re.compile(r"^```sh\n(# runnable[^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def runnable_blocks():
    text = README.read_text()
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        head, body = m.group(1), m.group(2)
        expect = head.split("prints:", 1)[1].strip() if "prints:" in head else None
        blocks.append(pytest.param(body, expect, id=f"README.md:{line}"))
    return blocks


def live_members(pgid):
    """Processes of group pgid that are not zombies (PID 1 here may not reap)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(d))
    return pids


def wait_group_gone(pgid, timeout=15.0):
    deadline = time.monotonic() + timeout
    while live_members(pgid):
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise AssertionError(f"processes of the block still alive {timeout} s after SIGTERM")
        time.sleep(0.05)


def test_readme_has_runnable_blocks():
    assert len(runnable_blocks()) >= 6


@pytest.mark.parametrize("body,expect", runnable_blocks())
def test_readme_block(body, expect, tickerd_bin, tmp_path, free_port):
    for port in PORTS:
        body = re.sub(rf"(?<=[:\s]){port}\b", str(free_port()), body)
    env = dict(os.environ)
    env.update(harness.SANITIZER_ENV)
    env["PATH"] = f"{tickerd_bin.parent}:{env['PATH']}"
    script = tmp_path / "block.sh"
    script.write_text(body)
    out_path, err_path = tmp_path / "block.out", tmp_path / "block.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(["bash", "-e", str(script)], cwd=tmp_path, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            rc = p.wait(BLOCK_SECONDS)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            # the block's background servers (and the block itself if it hung)
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            p.wait(10)
    wait_group_gone(p.pid)  # the servers' last lines (and sanitizer reports) are written
    output = out_path.read_text(errors="replace") + err_path.read_text(errors="replace")
    where = f"\n--- block:\n{body}\n--- output (tail):\n{output[-4000:]}"
    assert rc is not None, f"block still running after {BLOCK_SECONDS} s" + where
    assert rc == 0, f"block exited {rc}" + where
    for marker in harness.SANITIZER_MARKERS:
        assert marker.decode() not in output, where
    assert "command not found" not in output, where
    if expect:
        assert expect in output, f"{expect!r} not in the output" + where
