#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tickerd against a peer: the same job done the way a short Python asyncio
proxy does it (python3-websockets + redis.asyncio: connect to the vendor
stream, authenticate, subscribe, split each frame per ticker and PUBLISH
`<kind>.<SYMBOL>`, pipelined per frame), both run in turn against the same
redis-server, a fresh `tickerd sim` of the same shape (--rate, --batch 100,
--symbols 500, --count) and a fresh `bench_sub '*'` pattern subscriber, all on
127.0.0.1.

    /usr/bin/python3 bench/proxy_peer.py BUILD_DIR OUT_DIR [--rate 60000]
                                         [--warmup 3] [--seconds 8] [--rounds 2]
    /usr/bin/python3 bench/proxy_peer.py --proxy WS_URL REDIS_PORT   (the peer alone)

Per contender: delivered/sent (messages bench_sub received / events the sim
sent) and CPU µs per event = the contender's utime+stime (/proc/PID/stat)
over a --seconds window after --warmup, divided by the PUBLISH commands Redis
executed in that window (INFO commandstats). tickerd runs with its default
options (PUBLISH and the HSET of last values); the peer only PUBLISHes. The
contenders alternate for --rounds rounds; the ratio is that of each one's
best (least disturbed) round. Writes OUT_DIR/peer-results.json and prints a
summary. Every wait is bounded (about 70 s in all at the defaults).
"""
import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import (CLK_TCK, HarnessError, Redis, Sub, free_port, grep_last,  # noqa: E402
                 proc_ticks, stop, wait_file)

SUBSCRIBE = "trades=*;quotes=*"
KEYS = {"APCA_API_KEY_ID": "PKBENCH", "APCA_API_SECRET_KEY": "bench"}
# The Alpaca "T" letters of the kinds subscribed above (trades=* implies
# corrections and cancelErrors), as tickerd names their channels.
KINDS = {"t": "trades", "q": "quotes", "c": "corrections", "x": "cancelErrors"}


async def proxy(url, redis_port):
    """The peer: one upstream connection, one Redis connection."""
    import redis.asyncio
    import websockets

    r = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.recv()  # [{"T":"success","msg":"connected"}]
        await ws.send(json.dumps({"action": "auth", "key": KEYS["APCA_API_KEY_ID"],
                                  "secret": KEYS["APCA_API_SECRET_KEY"]}))
        await ws.recv()  # authenticated
        await ws.send(json.dumps({"action": "subscribe", "trades": ["*"], "quotes": ["*"]}))
        async for frame in ws:
            pipe = r.pipeline(transaction=False)
            n = 0
            for ev in json.loads(frame):
                kind = KINDS.get(ev.get("T"))
                if kind and "S" in ev:
                    pipe.publish(f"{kind}.{ev['S']}", json.dumps(ev, separators=(",", ":")))
                    n += 1
            if n:
                await pipe.execute()


def publishes(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "commandstats"],
                         capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"cmdstat_publish:calls=(\d+)", out)
    return int(m[1]) if m else 0


def contender(name, build, redis, out, args):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    tickerd = os.path.join(build, "tickerd")
    count = args.rate * int(args.warmup + args.seconds + 2)
    sub = Sub(build, redis.port, ["*"], d)
    sim_port, sim_log = free_port(), os.path.join(d, "sim.log")
    sim = subprocess.Popen([tickerd, "sim", "--listen", f"127.0.0.1:{sim_port}", "--rate",
                            str(args.rate), "--count", str(count), "--batch", "100",
                            "--symbols", "500", "--stats", "1"],
                           stdout=subprocess.DEVNULL, stderr=open(sim_log, "w"))
    procs = [sim]
    try:
        if not wait_file(sim_log, "listening on", 10):
            raise HarnessError(f"sim did not start (see {sim_log})")
        url = f"ws://127.0.0.1:{sim_port}/v2/iex"
        cmd = ([tickerd, "run", "--url", url, "--subscribe", SUBSCRIBE, "--redis",
                f"redis://127.0.0.1:{redis.port}", "--stats-interval", "5"] if name == "tickerd"
               else [sys.executable, os.path.abspath(__file__), "--proxy", url, str(redis.port)])
        p = subprocess.Popen(cmd, env={**os.environ, **KEYS}, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "contender.log"), "w"))
        procs.append(p)
        time.sleep(args.warmup)
        t0, c0, p0 = time.monotonic(), proc_ticks(p.pid), publishes(redis.port)
        time.sleep(args.seconds)
        t1, c1, p1 = time.monotonic(), proc_ticks(p.pid), publishes(redis.port)
        if c1 is None or p.poll() is not None or p1 <= p0:
            raise HarnessError(f"{name} exited or published nothing (see {d}/contender.log)")
        end = time.monotonic() + 30  # the rest of --count, then the subscriber's idle time
        while time.monotonic() < end and not sub.poll():
            time.sleep(0.1)
    finally:
        for x in reversed(procs):
            stop(x)
        sub.finish()
    tot = grep_last(sim_log, r"totals: (\d+) generated, (\d+) built, (\d+) sent in (\d+) frames")
    sent = int(tot[1][3]) if tot else None
    events = p1 - p0
    return {"cmd": " ".join(cmd), "window_s": round(t1 - t0, 2), "published": events,
            "published_per_s": round(events / (t1 - t0)), "cpu_s": (c1 - c0) / CLK_TCK,
            "cpu_us_per_event": round((c1 - c0) / CLK_TCK * 1e6 / events, 3), "sent": sent,
            "delivered": sub.received,
            "delivered_over_sent": round(sub.received / sent, 4) if sent and sub.received else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--proxy", nargs=2, metavar=("WS_URL", "REDIS_PORT"))
    ap.add_argument("--rate", type=int, default=60000)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if args.proxy:
        asyncio.run(proxy(args.proxy[0], int(args.proxy[1])))
        return
    if not args.build or not args.out:
        ap.error("BUILD_DIR and OUT_DIR are required")
    os.makedirs(args.out, exist_ok=True)
    redis = Redis(args.out)
    runs = {"tickerd": [], "python": []}
    try:  # alternated, so that a load that comes and goes hits both alike
        for i in range(args.rounds):
            for n in runs:
                runs[n].append(contender(n, args.build, redis,
                                         os.path.join(args.out, f"round{i + 1}"), args))
    finally:
        redis.close()
    best = {n: min(v, key=lambda r: r["cpu_us_per_event"]) for n, v in runs.items()}
    res = {"rate": args.rate, "rounds": runs, "best": best,
           "ratio": round(best["python"]["cpu_us_per_event"] /
                          best["tickerd"]["cpu_us_per_event"], 1)}
    with open(os.path.join(args.out, "peer-results.json"), "w") as f:
        json.dump(res, f, indent=1)
    for n, v in runs.items():
        print(f"{n:8s} delivered/sent " + ", ".join(f"{r['delivered']}/{r['sent']}" for r in v) +
              "; CPU us/event " + ", ".join(str(r["cpu_us_per_event"]) for r in v) +
              f" (published/s in the windows: {', '.join(str(r['published_per_s']) for r in v)})")
    print(f"ratio of the best runs (python / tickerd CPU per event): {res['ratio']}x; "
          f"target >= 10x: {'MET' if res['ratio'] >= 10 else 'MISSED'}")

if __name__ == "__main__":
    main()
