# SPDX-License-Identifier: Apache-2.0
"""What the cost benches (redis_cost.py, cluster_cost.py, deflate_cost.py)
share: the test harness on the path, the vendor keys tickerd is given, and
the start-up and teardown of `tickerd sim` and `tickerd run` on 127.0.0.1.

    with benchlib.Procs(tickerd, tmp) as procs:
        sport = procs.sim(rate=60000)              # waits until it listens
        run = procs.run(sport, "--redis", url)     # --url ws://127.0.0.1:SPORT/v2/iex ...
        ... measure over a window ...
        procs.check(run, ok)                       # exits with run.err if not ok

Every process started is terminated on the way out (killed after 10 s)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/integration"))
import harness  # noqa: E402,F401  (re-exported: RedisServer, RedisCluster, free_port...)
from e2e import proc_ticks  # noqa: E402,F401  (utime+stime in clock ticks of a pid)

CLK_TCK = os.sysconf("SC_CLK_TCK")
KEYS = {"APCA_API_KEY_ID": "PKBENCH", "APCA_API_SECRET_KEY": "bench"}


class Procs:
    """The children of one measurement; stderr of each in TMP/NAME.err."""

    def __init__(self, tickerd, tmp):
        self.tickerd, self.tmp, self.procs = tickerd, Path(tmp), []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, argv, name, env=None):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env,
                             stderr=open(self.tmp / f"{name}.err", "wb"))
        self.procs.append(p)
        return p

    def sim(self, rate, batch=100, symbols=500):
        """`tickerd sim` on a free port at `rate` events/s; returns the port."""
        port = harness.free_port()
        self.start([self.tickerd, "sim", "--listen", f"127.0.0.1:{port}", "--rate", str(rate),
                    "--batch", str(batch), "--symbols", str(symbols)], "sim")
        harness.wait_port(port)
        return port

    def run(self, sim_port, *args, listen_port=None):
        """`tickerd run --url ws://127.0.0.1:SIM_PORT/v2/iex ARGS` with the
        bench keys; waits for listen_port if given. Returns the Popen."""
        run = self.start([self.tickerd, "run", "--url", f"ws://127.0.0.1:{sim_port}/v2/iex",
                          *args], "run", env={**os.environ, **KEYS})
        if listen_port:
            harness.wait_port(listen_port)
        return run

    def run_err(self, tail=2000):
        path = self.tmp / "run.err"
        return path.read_text()[-tail:] if path.exists() else ""

    def check(self, run, ok):
        """Ends the bench with tickerd's last log lines unless it is still
        running and `ok` (e.g. it published something)."""
        if run.poll() is not None or not ok:
            raise SystemExit("tickerd exited or published nothing:\n" + self.run_err())

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
