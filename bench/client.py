#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""libtickerd over loopback: tickerd sim (Polygon /stocks) -> examples/count_events
(libtickerd, trades and quotes for "*", one accessor + timestamp per event).

    /usr/bin/python3 bench/client.py BUILD_DIR OUT_DIR [--rates 100000,200000,...]
                                     [--seconds 3]

For each rate, a fresh sim (--rate R --count R x seconds --symbols 500
--batch 100 --stats 1) and a fresh count_events --polygon --idle 1. A rung
passes when the client counted exactly what the sim sent (its exit totals:
built = sent = client events), no accessor failed, there was one
connection, the sim generated at >= 95 % of R, and delivery kept up: the
last event reached the client no later than 1.1 x the sim's generation
time after the generator started. The ladder stops at the first failing
rung. CPU (utime+stime from /proc/PID/stat) of the client and of the sim
separately, over the generation window; softirq and CPU not charged to
either from /proc/stat (as e2e.py).

Writes each rung's logs and commands.txt to OUT_DIR/client-R/ and
client-results.json; prints a line per rung. Exit status 0 unless the
harness itself failed. Standard library only. Every wait is bounded.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import (CLK_TCK, HarnessError, all_ticks, free_port, grep_last, log_wall,  # noqa: E402
                 proc_ticks, stop, system_ticks, top_others, wait_file)

IDLE = 1.0


def rung(build, out, rate, seconds):
    d = os.path.join(out, f"client-{rate}")
    os.makedirs(d, exist_ok=True)
    count = rate * seconds
    port = free_port()
    tickerd = os.path.join(build, "tickerd")
    sim_cmd = [tickerd, "sim", "--listen", f"127.0.0.1:{port}", "--rate", str(rate),
               "--count", str(count), "--symbols", "500", "--batch", "100", "--stats", "1"]
    cli_cmd = [os.path.join(build, "count_events"), "--polygon", "--idle", str(IDLE),
               "--seconds", str(seconds + 20), f"ws://127.0.0.1:{port}"]
    with open(os.path.join(d, "commands.txt"), "w") as f:
        f.write(" ".join(sim_cmd) + "\n" + " ".join(cli_cmd) + "\n")
    sim_log = os.path.join(d, "sim.log")
    sim = subprocess.Popen(sim_cmd, stdout=subprocess.DEVNULL, stderr=open(sim_log, "w"))
    if not wait_file(sim_log, "listening on", 10):
        stop(sim)
        raise HarnessError("sim did not start (see " + sim_log + ")")
    cli_out = os.path.join(d, "count_events.out")
    cli = subprocess.Popen(cli_cmd, stdout=open(cli_out, "w"), stderr=subprocess.STDOUT)
    procs = {"client": cli.pid, "sim": sim.pid}
    samples = []
    all_a = (time.time(), all_ticks())

    def sample():
        s = {k: proc_ticks(p) for k, p in procs.items()}
        s["_sys"] = system_ticks()
        samples.append((time.time(), s))

    end = time.time() + seconds + 25
    while time.time() < end and cli.poll() is None:
        sample()
        time.sleep(0.1)
    sample()
    all_b = (time.time(), all_ticks())
    stop(cli)
    stop(sim)
    r = {"rate": rate, "count": count,
         "other_processes_cpu": top_others(all_a[1], all_b[1], all_b[0] - all_a[0],
                                           set(procs.values()))}
    g = grep_last(sim_log, r"generator started")
    c = grep_last(sim_log, r"--count (\d+) reached")
    tot = grep_last(sim_log, r"totals: (\d+) generated, (\d+) built, (\d+) sent in (\d+) frames")
    r["gen_start"] = log_wall(g[0]) if g else None
    r["count_reached"] = log_wall(c[0]) if c else None
    if tot:
        r["generated"], r["built"], r["sent"], r["frames"] = map(int, tot[1].groups())
    with open(sim_log, errors="replace") as f:
        sim_text = f.read()
    r["sim_conns"] = len(re.findall(r"conn #\d+ open", sim_text))
    r["sim_slow_client_407"] = "slow client" in sim_text
    with open(cli_out, errors="replace") as f:
        cli_text = f.read()
    m = re.search(r"# done events=(\d+) trades=(\d+) quotes=(\d+) bad=(\d+) first=([\d.]+) "
                  r"last=([\d.]+)", cli_text)
    if not m:
        raise HarnessError("count_events gave no totals (see " + cli_out + ")")
    r["client_events"], r["client_trades"], r["client_quotes"], r["client_bad"] = \
        map(int, m.groups()[:4])
    r["client_last"] = float(m[6])
    r["client_exit"] = cli.returncode
    if r["gen_start"] and r["count_reached"]:
        gs = r["count_reached"] - r["gen_start"]
        r["sim_seconds"] = round(gs, 3)
        r["sim_rate"] = round(r.get("generated", 0) / gs) if gs > 0 else None
        ds = r["client_last"] - r["gen_start"]
        r["delivery_seconds"] = round(ds, 3)
        r["received_per_s"] = round(r["client_events"] / ds) if ds > 0 else None
    # CPU over the generation window
    t0 = r.get("gen_start") or samples[0][0]
    t1 = r.get("count_reached") or r.get("client_last") or samples[-1][0]
    a = min(samples, key=lambda s: abs(s[0] - t0))
    b = min(samples, key=lambda s: abs(s[0] - t1))
    dt = b[0] - a[0]
    cpu = {"window_s": round(dt, 2)}
    for k in procs:
        x, y = a[1].get(k), b[1].get(k)
        if x is not None and y is not None and dt > 0:
            cpu[k] = round(100.0 * (y - x) / CLK_TCK / dt, 1)
    (b0, s0t, q0), (b1, s1t, q1) = a[1]["_sys"], b[1]["_sys"]
    if s1t > s0t:
        n = os.cpu_count() or 1
        busy = 100.0 * (b1 - b0) / (s1t - s0t)
        cpu["machine_busy_pct_of_all_cores"] = round(busy, 1)
        cpu["softirq_pct_of_one_core"] = round(100.0 * n * (q1 - q0) / (s1t - s0t), 1)
        cpu["not_ours_pct_of_one_core"] = round(
            n * busy - cpu["softirq_pct_of_one_core"] - cpu.get("client", 0) - cpu.get("sim", 0), 1)
    r["cpu"] = cpu
    if r.get("client_events") and "client" in cpu and r.get("sim_seconds"):
        # CPU-seconds per event over the window the events arrived in
        r["client_us_per_event"] = round(cpu["client"] / 100 * dt / r["client_events"] * 1e6, 3)
    why = []
    if not (r.get("built") == r.get("sent") == r["client_events"]):
        why.append(f"count: built {r.get('built')} sent {r.get('sent')} "
                   f"client {r['client_events']}")
    if r["client_bad"]:
        why.append(f"{r['client_bad']} accessor failures")
    if r["sim_conns"] != 1 or r["sim_slow_client_407"]:
        why.append(f"{r['sim_conns']} connections, 407: {r['sim_slow_client_407']}")
    if not r.get("sim_rate") or r["sim_rate"] < 0.95 * rate:
        why.append(f"sim generated at {r.get('sim_rate')}/s")
    if r.get("delivery_seconds") is None or r["delivery_seconds"] > 1.1 * r.get("sim_seconds", 0):
        why.append(f"last event {r.get('delivery_seconds')} s after start, sim took "
                   f"{r.get('sim_seconds')} s")
    r["pass"] = not why
    r["why"] = "; ".join(why)
    return r


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build, out = os.path.abspath(args[0]), os.path.abspath(args[1])
    rates = [200000, 400000, 600000, 800000, 900000, 1000000, 1200000]
    seconds = 3
    i = 2
    while i < len(args):
        if args[i] == "--rates":
            rates = [int(x) for x in args[i + 1].split(",")]
            i += 2
        elif args[i] == "--seconds":
            seconds = int(args[i + 1])
            i += 2
        else:
            print(f"unknown argument {args[i]}", file=sys.stderr)
            return 2
    os.makedirs(out, exist_ok=True)
    res = {"ladder": [], "best_rate": None}
    try:
        for rate in rates:
            r = rung(build, out, rate, seconds)
            res["ladder"].append(r)
            c = r["cpu"]
            print(f"rate {rate}: {'pass' if r['pass'] else 'FAIL'}: client {r['client_events']} "
                  f"events (sim built {r.get('built')}, sent {r.get('sent')}), "
                  f"{r.get('received_per_s')}/s received; cpu% of one core: client "
                  f"{c.get('client')} sim {c.get('sim')} softirq {c.get('softirq_pct_of_one_core')} "
                  f"not ours {c.get('not_ours_pct_of_one_core')}; client "
                  f"{r.get('client_us_per_event')} us/event" + (f"; {r['why']}" if r["why"] else ""),
                  flush=True)
            if not r["pass"]:
                res["stopped_by"] = f"rate {rate}: {r['why']}"
                break
            res["best_rate"] = rate
            res["best_received_per_s"] = r.get("received_per_s")
            res["best_cpu"] = c
    except HarnessError as e:
        print(f"client.py: {e}", file=sys.stderr)
        return 1
    finally:
        with open(os.path.join(out, "client-results.json"), "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
