# SPDX-License-Identifier: Apache-2.0
"""`make install PREFIX=…` gives a tickerd that serves its quote board from
anywhere, and a libtickerd that a program built with `pkg-config --cflags
--libs tickerd` finds at run time.

The install is `cmake --install BUILD --prefix PREFIX` (what `make install
PREFIX=…` runs) of the build $TICKERD comes from, so no release build is
needed; with the sanitizer build, the example program is compiled with the
same sanitizer flags (libtickerd.so is instrumented)."""

import os
import re
import subprocess
import time
import urllib.request

import harness

CLIENT_MD = harness.REPO / "docs" / "CLIENT.md"


def cache_value(build, name):
    m = re.search(rf"^{name}:\w+=(.*)$", (build / "CMakeCache.txt").read_text(), re.MULTILINE)
    return m.group(1) if m else ""


def install(tickerd_bin, prefix):
    build = tickerd_bin.parent
    r = subprocess.run(["cmake", "--install", str(build), "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return build


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_installed_tickerd_serves_the_board(tickerd_bin, tickerd, tmp_path, free_port):
    prefix = tmp_path / "prefix"
    install(tickerd_bin, prefix)
    installed = prefix / "bin" / "tickerd"
    assert (prefix / "share" / "tickerd" / "web" / "index.html").is_file()
    sim = tickerd.sim()
    port = free_port()
    elsewhere = tmp_path / "elsewhere"  # no web/ here: the installed page must be found
    elsewhere.mkdir()
    p = harness.Proc([installed, "run", "--url", sim.url("/v2/iex"), "--listen",
                      f"127.0.0.1:{port}", "--client", "k:s"], elsewhere, "installed",
                     env={"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}, port=port)
    p.start()
    tickerd.procs.append(p)  # stopped and checked (exit 0, no sanitizer report) at teardown
    harness.wait_port(port, proc=p)
    status, body = http_get(f"http://127.0.0.1:{port}/")
    assert status == 200, body
    assert body == (harness.REPO / "web" / "index.html").read_bytes()
    assert b"is not a directory" not in p.stderr()


def test_web_root_missing_is_warned(tickerd, tmp_path):
    gw = tickerd.run(listen=True, web_root=str(tmp_path / "nope"), client="k:s",
                     url="ws://127.0.0.1:9/v2/iex", env={"APCA_API_KEY_ID": "k",
                                                         "APCA_API_SECRET_KEY": "s"})
    gw.wait_for_log(r"web root '.*nope' is not a directory")


def client_example():
    m = re.search(r"## Example\n\n```c\n(.*?)```", CLIENT_MD.read_text(), re.DOTALL)
    assert m, "no ```c block under '## Example' in docs/CLIENT.md"
    return m.group(1)


def test_client_example_against_installed_prefix(tickerd_bin, tickerd, tmp_path):
    prefix = tmp_path / "prefix"
    build = install(tickerd_bin, prefix)
    sim = tickerd.sim(rate=2000)
    src = client_example()
    assert "ws://127.0.0.1:8765" in src
    (tmp_path / "myprog.c").write_text(src.replace("127.0.0.1:8765", sim.addr))
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    env.pop("LD_LIBRARY_PATH", None)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "tickerd"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    sanitize = ["-fsanitize=address,undefined"] if cache_value(build, "TD_SANITIZE") == "ON" else []
    cc = subprocess.run(["cc", "-std=gnu11", *sanitize, "-o", str(tmp_path / "myprog"),
                         str(tmp_path / "myprog.c"), *flags], capture_output=True, text=True,
                        env=env, timeout=120)
    assert cc.returncode == 0, cc.stderr
    run_env = dict(env)
    run_env.update(harness.SANITIZER_ENV)
    t0 = time.monotonic()
    r = subprocess.run([str(tmp_path / "myprog")], capture_output=True, text=True, env=run_env,
                       timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 100, (len(lines), r.stderr[-2000:])  # it closes after 100 quotes
    assert all(re.fullmatch(r"(AAPL|MSFT) \d+\.\d\d / \d+\.\d\d", ln) for ln in lines), lines[:5]
    assert time.monotonic() - t0 < 60
