#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Takeover time of --ha-lease: three instances on one sim account
(--max-conns 1); the active one is SIGKILLed, a fresh instance replaces it,
again and again.

    /usr/bin/python3 bench/ha_takeover.py TICKERD [--kills 20] [--ttl 1]
                                          [--rate 200]

Per kill: the dark window seen by a Redis subscriber (SIGKILL to the first
event published after it) and the new holder's own figure (lease acquired
to first batch published, /healthz last_takeover_seconds). Prints one JSON
line with median and max; every wait is bounded.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/integration"))
import harness  # noqa: E402

KEYS = {"APCA_API_KEY_ID": "PKBENCH", "APCA_API_SECRET_KEY": "bench"}


def health(p):
    with urllib.request.urlopen(f"http://127.0.0.1:{p.port}/healthz", timeout=5) as r:
        return json.loads(r.read())["ha"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tickerd")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--ttl", type=float, default=1.0)
    ap.add_argument("--rate", type=float, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis = harness.RedisServer(Path(tmp) / "redis").start()
        t = harness.Tickerd(args.tickerd, tmp)
        sim = t.sim(rate=args.rate, symbols=4, max_conns=1)
        coll = harness.RedisCollector(redis.port, patterns=("trades.*",)).start()

        def spawn(i):
            return t.run(url=sim.url("/v2/iex"), redis=redis.url, ha_lease="bench",
                         ha_ttl=args.ttl, subscribe="trades=*", listen=True, client="c:d",
                         stats_interval=0, env=KEYS, name=f"ha{i}")

        procs = [spawn(i) for i in range(3)]
        dark, own = [], []
        try:
            for k in range(args.kills):
                deadline = time.monotonic() + 10 * args.ttl + 10
                active = None
                while active is None and time.monotonic() < deadline:
                    active = next((p for p in procs if health(p)["role"] == "active"), None)
                    time.sleep(0.05)
                assert active, "no active instance"
                coll.wait_count(len(coll.snapshot()) + 10, timeout=10)
                active.popen.kill()
                active.popen.wait(5)
                t0 = time.monotonic()
                time.sleep(0.02)  # what was already on its way
                n = len(coll.snapshot())
                while len(coll.snapshot()) <= n and time.monotonic() - t0 < 10 * args.ttl + 10:
                    time.sleep(0.005)
                dark.append(time.monotonic() - t0)
                procs.remove(active)
                time.sleep(0.2)
                new = next(p for p in procs if health(p)["role"] == "active")
                own.append(health(new)["last_takeover_seconds"])
                procs.append(spawn(3 + k))
        finally:
            for p in procs:
                p.stop()
            coll.stop()
            sim.stop()
            redis.stop()
    print(json.dumps({
        "kills": len(dark), "ttl_s": args.ttl,
        "dark_median_s": round(statistics.median(dark), 3), "dark_max_s": round(max(dark), 3),
        "acquire_to_publish_median_s": round(statistics.median(own), 3),
        "acquire_to_publish_max_s": round(max(own), 3),
        "dark_s": [round(x, 3) for x in dark]}))


if __name__ == "__main__":
    main()
