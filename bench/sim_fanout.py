#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The simulator's CPU per event sent, with one and with several sessions:
tickerd sim (Polygon /stocks) -> K examples/count_events clients (trades and
quotes of "*", so every session gets every event), all on 127.0.0.1.

    /usr/bin/python3 bench/sim_fanout.py OUT_DIR BUILD_DIR [BUILD_DIR...]
        [--rate 100000] [--seconds 8] [--sessions 1,4] [--repeat 3]

For each repetition, each session count and each build (alternating, so a
busy machine hurts them alike): a fresh sim (--rate R --count R x seconds
--symbols 500 --batch 100 --stats 1 --max-conns 0) and K fresh count_events --polygon
--idle 1. The sim's CPU (utime+stime from /proc/PID/stat) is taken once every
client is connected (before the generator starts: the generator starts at
the first subscription, so that baseline holds the sim's start-up only) and
once every client has finished; divided by the events the sim sent (K x
built when every session keeps up) and by the events it built. A run is
valid when the clients counted exactly what the sim sent (a client that
subscribes later misses the first events, so sent may be under K x built).

Writes each run's logs to OUT_DIR and sim-fanout.json; prints a line per
run and a median per (build, sessions). Exit status 0 unless the harness
itself failed. Standard library only. Every wait is bounded.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import CLK_TCK, HarnessError, free_port, grep_last, proc_ticks, stop, wait_file  # noqa: E402


def run(build, out, tag, rate, seconds, k):
    d = os.path.join(out, tag)
    os.makedirs(d, exist_ok=True)
    port = free_port()
    tickerd = os.path.join(build, "tickerd")
    sim_cmd = [tickerd, "sim", "--listen", f"127.0.0.1:{port}", "--rate", str(rate),
               "--count", str(rate * seconds), "--symbols", "500", "--batch", "100",
               "--stats", "1", "--max-conns", "0"]
    cli_cmd = [os.path.join(build, "count_events"), "--polygon", "--idle", "1",
               "--seconds", str(seconds + 20), f"ws://127.0.0.1:{port}"]
    with open(os.path.join(d, "commands.txt"), "w") as f:
        f.write(" ".join(sim_cmd) + "\n" + f"{k} x " + " ".join(cli_cmd) + "\n")
    sim_log = os.path.join(d, "sim.log")
    sim = subprocess.Popen(sim_cmd, stdout=subprocess.DEVNULL, stderr=open(sim_log, "w"))
    clis = []
    try:
        if not wait_file(sim_log, "listening on", 10):
            raise HarnessError("sim did not start (see " + sim_log + ")")
        t_start = proc_ticks(sim.pid)
        for i in range(k):
            o = open(os.path.join(d, f"count_events-{i}.out"), "w")
            clis.append((subprocess.Popen(cli_cmd, stdout=o, stderr=subprocess.STDOUT), o.name))
        end = time.time() + seconds + 30
        while time.time() < end and any(c.poll() is None for c, _ in clis):
            time.sleep(0.05)
        t_end = proc_ticks(sim.pid)
        time.sleep(1.2)  # one more stats line with the totals
    finally:
        for c, _ in clis:
            stop(c)
        stop(sim)
    tot = grep_last(sim_log, r"totals: (\d+) generated, (\d+) built, (\d+) sent in (\d+) frames")
    if not tot:
        raise HarnessError("no totals in " + sim_log)
    generated, built, sent, frames = map(int, tot[1].groups())
    got = []
    for _, name in clis:
        with open(name, errors="replace") as f:
            m = re.search(r"# done events=(\d+)", f.read())
        got.append(int(m[1]) if m else -1)
    cpu_s = (t_end - t_start) / CLK_TCK
    return {"tag": tag, "build": build, "sessions": k, "rate": rate, "generated": generated,
            "built": built, "sent": sent, "frames": frames, "clients_got": got,
            "valid": sum(got) == sent and all(g > 0 for g in got),
            "sim_cpu_s": round(cpu_s, 3),
            "us_per_sent": round(1e6 * cpu_s / sent, 3) if sent else None,
            "us_per_built": round(1e6 * cpu_s / built, 3) if built else None}


def main():
    args = sys.argv[1:]
    opts = {"--rate": "100000", "--seconds": "8", "--sessions": "1,4", "--repeat": "3"}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts and i + 1 < len(args):
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            pos.append(args[i])
            i += 1
    if len(pos) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, builds = pos[0], [os.path.abspath(b) for b in pos[1:]]
    os.makedirs(out, exist_ok=True)
    rate, seconds = int(opts["--rate"]), int(opts["--seconds"])
    sessions = [int(x) for x in opts["--sessions"].split(",")]
    results = []
    for rep in range(int(opts["--repeat"])):
        for k in sessions:
            for bi, b in enumerate(builds):
                r = run(b, out, f"r{rep}-k{k}-b{bi}", rate, seconds, k)
                results.append(r)
                print(f"{r['tag']}: {b}: {k} sessions: sent {r['sent']} of {r['built']} built, "
                      f"sim {r['sim_cpu_s']} s CPU: {r['us_per_sent']} us/event sent, "
                      f"{r['us_per_built']} us/event built{'' if r['valid'] else ' (INVALID)'}",
                      flush=True)
    with open(os.path.join(out, "sim-fanout.json"), "w") as f:
        json.dump(results, f, indent=1)
    for b in builds:
        for k in sessions:
            v = [r["us_per_sent"] for r in results
                 if r["build"] == b and r["sessions"] == k and r["valid"]]
            if v:
                print(f"median {b} {k} sessions: {statistics.median(v):.3f} us/event sent "
                      f"({len(v)} valid runs: {', '.join(f'{x:.3f}' for x in v)})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        print("sim_fanout: " + str(e), file=sys.stderr)
        sys.exit(1)
