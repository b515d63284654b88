#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tickerd's CPU cost per event forwarded to Redis, in the shape of a new
user's first try: tickerd sim --rate 60000 --batch 100 --symbols 500,
tickerd run --subscribe 'trades=*;quotes=*' --redis ..., one
`redis-cli psubscribe '*'` subscriber, all on 127.0.0.1.

    /usr/bin/python3 bench/redis_cost.py TICKERD [--seconds 10] [--warmup 3]
                                         [--rate 60000] [--run-arg ARG ...]
                                         [--perf perf.data]

CPU µs per event = tickerd's utime+stime (/proc/PID/stat) over the window /
PUBLISH commands Redis executed in that window (INFO commandstats). Prints
one JSON line; every wait is bounded.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import CLK_TCK, Procs, harness, proc_ticks


def publishes(r):
    st = r.info("commandstats").get("cmdstat_publish", {})
    return int(st.get("calls", 0))


def measure(args, tmp):
    redis = harness.RedisServer(Path(tmp) / "redis").start()
    try:
        with Procs(args.tickerd, tmp) as procs:
            sport = procs.sim(args.rate)
            procs.start(["redis-cli", "-p", str(redis.port), "psubscribe", "*"], "redis-cli")
            run = procs.run(sport, "--subscribe", "trades=*;quotes=*", "--redis", redis.url,
                            "--stats-interval", "5", *args.run_arg)
            r = redis.client()
            time.sleep(args.warmup)
            perf = None
            if args.perf:  # perf record -g of tickerd over the window
                what = (["stat", "-e", args.perf[5:]] if args.perf.startswith("stat:")
                        else ["record", "--call-graph", "dwarf,16384", "-o", args.perf[6:]]
                        if args.perf.startswith("dwarf:") else ["record", "-g", "-o", args.perf])
                perf = subprocess.Popen(["perf", *what, "-p", str(run.pid), "--", "sleep",
                                         str(args.seconds)] if args.perf != "strace" else
                                        ["timeout", "0.3", "strace", "-tt", "-p", str(run.pid)],
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(Path(tmp) / "perf.txt", "wb"))
            t0, p0, c0 = time.monotonic(), publishes(r), proc_ticks(run.pid)
            time.sleep(args.seconds)
            t1, p1, c1 = time.monotonic(), publishes(r), proc_ticks(run.pid)
            if perf:
                perf.wait(30)
                sys.stderr.write((Path(tmp) / "perf.txt").read_text())
            procs.check(run, p1 > p0)
            events = p1 - p0
            cpu_us = (c1 - c0) / CLK_TCK * 1e6
            return {"rate_asked": args.rate, "window_s": round(t1 - t0, 2), "published": events,
                    "published_per_s": round(events / (t1 - t0)), "cpu_s": (c1 - c0) / CLK_TCK,
                    "cpu_us_per_event": round(cpu_us / events, 3), "run_args": args.run_arg}
    finally:
        redis.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tickerd")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rate", type=int, default=60000)
    ap.add_argument("--run-arg", action="append", default=[])
    ap.add_argument("--perf", help="also perf record -g tickerd into this file, or with "
                    "stat:EVENTS, perf stat -e EVENTS (e.g. syscalls:sys_enter_epoll_wait)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="redis_cost") as tmp:
        print(json.dumps(measure(args, tmp)))


if __name__ == "__main__":
    main()
