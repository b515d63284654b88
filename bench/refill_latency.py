#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Live latency while a refill runs: sim -> tickerd run --redis ->
redis-server -> bench_sub (trades.* and quotes.*), at a steady event rate,
in three runs of the same length:

  steady   no drops, --refill none                    (the baseline)
  drops    the sim drops tickerd every --drop-every s, --refill none
  refill   the same drops, --refill bars: after each reconnect tickerd
           fetches the window's bars of every symbol (wildcard, --symbols)
           from the sim's REST history and publishes them
  all      the same drops, --refill bars,trades,quotes (every symbol):
           the window's trades and quotes too, a bigger refill

"refill" minus "drops" is what the refill costs the live events (the
reconnects themselves cost the same in both). Latency = bench_sub's receive
time minus the sim's send time ("t" of trades and quotes), all events of the
run. tickerd's CPU seconds (utime+stime) and its refill counters from
/metrics give the CPU per refilled bar.

    /usr/bin/python3 bench/refill_latency.py BUILD_DIR OUT_DIR [--rate 10000]
        [--seconds 20] [--drop-every 4] [--symbols 500]

Writes the logs and results.json to OUT_DIR and prints a summary. Standard
library only; every wait is bounded."""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import CLK_TCK, HarnessError, Redis, Sub, free_port, proc_ticks, stop, wait_file  # noqa


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    vals = re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
    return sum(float(v) for v in vals) if vals else None


def one_run(build, redis, out, tag, a):
    d = os.path.join(out, tag)
    os.makedirs(d, exist_ok=True)
    tickerd = os.path.join(build, "tickerd")
    subs = [Sub(build, redis.port, [p], d) for p in ("trades.*", "quotes.*")]
    sim_port, mport = free_port(), free_port()
    sim_cmd = [tickerd, "sim", "--listen", f"127.0.0.1:{sim_port}", "--rate", str(a.rate),
               "--batch", "100", "--symbols", str(a.symbols), "--bar-seconds", "1",
               "--count", str(int(a.rate * a.seconds))]
    if tag != "steady":
        sim_cmd += ["--drop-every", str(a.drop_every)]
    run_cmd = [tickerd, "run", "--url", f"ws://127.0.0.1:{sim_port}/v2/iex", "--subscribe",
               "trades=*;quotes=*;bars=*", "--redis", f"redis://127.0.0.1:{redis.port}",
               "--metrics-listen", f"127.0.0.1:{mport}", "--stats-interval", "0",
               "--backoff-min", "0.5", "--backoff-max", "0.6", "--refill-bar-seconds", "1",
               "--refill-delay", "0", "--refill-rate", "1000/1",
               "--refill-max-symbols", "0",
               "--refill", {"refill": "bars", "all": "bars,trades,quotes"}.get(tag, "none")]
    with open(os.path.join(d, "commands.txt"), "w") as f:
        f.write(" ".join(sim_cmd) + "\nAPCA_API_KEY_ID=k APCA_API_SECRET_KEY=s " +
                " ".join(repr(x) if ";" in x or "*" in x else x for x in run_cmd) + "\n")
    sim_log, run_log = os.path.join(d, "sim.log"), os.path.join(d, "tickerd.log")
    sim = subprocess.Popen(sim_cmd, stdout=subprocess.DEVNULL, stderr=open(sim_log, "w"))
    if not wait_file(sim_log, "listening on", 10):
        raise HarnessError("sim did not start")
    env = dict(os.environ, APCA_API_KEY_ID="k", APCA_API_SECRET_KEY="s")
    run = subprocess.Popen(run_cmd, stdout=subprocess.DEVNULL, stderr=open(run_log, "w"), env=env)
    t0 = time.time()
    c0 = proc_ticks(run.pid)
    end = t0 + a.seconds + 5
    while time.time() < end and not all(s.poll() for s in subs):
        time.sleep(0.2)
    c1 = proc_ticks(run.pid)
    res = {"cpu_s": (c1 - c0) / CLK_TCK if c0 is not None and c1 is not None else None,
           "refill_events": metric(mport, "tickerd_refill_events_total"),
           "refill_requests": metric(mport, "tickerd_refill_requests_total"),
           "refill_jobs": metric(mport, "tickerd_refill_jobs_total"),
           "reconnects": len(re.findall(r"streaming again", open(run_log).read()))}
    stop(run)
    stop(sim)
    for s in subs:
        s.finish()
    res["latency"] = {s.pattern: s.latency for s in subs}
    res["received"] = sum(s.received or 0 for s in subs)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("out")
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--drop-every", type=float, default=4)
    ap.add_argument("--symbols", type=int, default=500)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    redis = Redis(a.out)
    results = {"rate": a.rate, "seconds": a.seconds, "drop_every": a.drop_every,
               "symbols": a.symbols}
    try:
        for tag in ("steady", "drops", "refill", "all"):
            results[tag] = r = one_run(a.build, redis, a.out, tag, a)
            lat = "; ".join(f"{p}: p50 {v['p50_us']:.0f} us p99 {v['p99_us']:.0f} us "
                            f"p999 {v['p999_us']:.0f} us (n={v['samples']})"
                            for p, v in r["latency"].items() if v)
            per = (f"; {r['refill_events']:.0f} events refilled in {r['refill_requests']:.0f} "
                   f"calls" if r["refill_events"] else "")
            print(f"{tag:7s} reconnects {r['reconnects']}, tickerd CPU {r['cpu_s']:.2f} s{per}; "
                  f"{lat}", flush=True)
    finally:
        redis.close()
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
