#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Record and replay, over loopback, release build:

    /usr/bin/python3 bench/replay.py BUILD_DIR OUT_DIR [--events 1000000]
                                     [--record-rate 200000]
                                     [--live-rates 200000,400000,600000,800000,1000000]

1. record: tickerd sim, Polygon /stocks (--rate --record-rate, --count
   --events, --symbols 500, --batch 100) -> tickerd run --feed polygon
   --subscribe everything the cluster offers, no sink, --record OUT_DIR/rec;
   then the same without --record. tickerd's CPU (utime+stime,
   /proc/PID/stat) in each, and the difference per recorded frame and event.
2. live: for each of --live-rates (a ladder, as BENCHMARKS.md §9), tickerd
   sim at that rate (--count --events) -> examples/count_events --polygon
   (libtickerd, trades and quotes of "*"): events received / (last event -
   generator start). A rung keeps up when the client got every event sent,
   with no 407, the last no later than 1.1 x the generation time; the
   ladder stops at the first that does not, the live figure is the last
   that did.
3. replay: tickerd replay OUT_DIR/rec/* --speed max -> count_events: events
   received / (last event - replay start), the replay's CPU per event.

Writes logs and replay-results.json to OUT_DIR; prints a summary. Exit
status 0 unless the harness itself failed. Standard library only; every
wait is bounded.
"""
import calendar
import glob
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import (CLK_TCK, HarnessError, free_port, grep_last, proc_ticks, stop,  # noqa: E402
                 wait_file)

SUBS = "trades=*;quotes=*;bars=*;secondBars=*"  # everything Polygon /stocks offers


def wall(line):
    """Seconds since the epoch of a tickerd log line (2026-12-05T14:30:00.123Z ...)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ", line)
    return calendar.timegm(time.strptime(m[1][:19], "%Y-%m-%dT%H:%M:%S")) + int(m[1][20:]) / 1e3


def spawn(cmd, log, out=subprocess.DEVNULL):
    with open(log, "w") as err:
        return subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, POLYGON_API_KEY="k"))


def wait_port(port, timeout=10):
    import socket
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise HarnessError(f"port {port} never opened")


def record(build, out, events, rate, with_record):
    tag = "record" if with_record else "norecord"
    port = free_port()
    tickerd = os.path.join(build, "tickerd")
    sim = spawn([tickerd, "sim", "--listen", f"127.0.0.1:{port}", "--rate", str(rate),
                 "--count", str(events), "--symbols", "500", "--batch", "100", "--max-conns",
                 "0"], os.path.join(out, f"{tag}-sim.log"))
    wait_port(port)
    args = [tickerd, "run", "--feed", "polygon", "--url", f"ws://127.0.0.1:{port}/stocks",
            "--subscribe", SUBS,
            "--stats-interval", "1"]
    if with_record:
        args += ["--record", os.path.join(out, "rec")]
    run_log = os.path.join(out, f"{tag}-run.log")
    run = spawn(args, run_log)
    sim_log = os.path.join(out, f"{tag}-sim.log")
    if not wait_file(sim_log, "reached", events / rate * 3 + 30):
        raise HarnessError(f"{tag}: the sim never reached --count")
    time.sleep(1.0)  # the last frames reach tickerd
    ticks = proc_ticks(run.pid)
    stop(run)
    stop(sim)
    tot = grep_last(sim_log, r"totals: (\d+) generated, (\d+) built, (\d+) sent in (\d+) frames")
    r = {"cpu_s": ticks / CLK_TCK if ticks is not None else None}
    if tot:
        r["generated"], r["built"], r["sent"], r["frames"] = map(int, tot[1].groups())
    m = grep_last(run_log, r"record: (\d+) frames, ([\d.]+) MB received, ([\d.]+) MB written")
    if m:
        r["recorded_frames"] = int(m[1][1])
        r["mb_in"], r["mb_out"] = float(m[1][2]), float(m[1][3])
    return r


def count_events(build, out, tag, port, source, source_log, start_rx):
    cli_out = os.path.join(out, f"{tag}-client.out")
    with open(cli_out, "w") as f:
        cli = subprocess.Popen([os.path.join(build, "count_events"), "--polygon", "--idle", "1",
                                "--seconds", "120", f"ws://127.0.0.1:{port}"], stdout=f,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    t0 = (proc_ticks(source.pid), proc_ticks(cli.pid))
    try:
        cli.wait(150)
    except subprocess.TimeoutExpired:
        cli.kill()
        raise HarnessError(f"{tag}: count_events did not finish")
    t1 = proc_ticks(source.pid)
    stop(source)
    text = open(cli_out, errors="replace").read()
    m = re.search(r"# done events=(\d+) trades=(\d+) quotes=(\d+) bad=(\d+) first=([\d.]+) "
                  r"last=([\d.]+)", text)
    if not m:
        raise HarnessError(f"{tag}: count_events gave no totals (see {cli_out})")
    g = grep_last(source_log, start_rx)
    start = wall(g[0]) if g else float(m[5])
    r = {"client_events": int(m[1]), "bad": int(m[4]), "first": float(m[5]),
         "last": float(m[6]), "source_start": start}
    dt = r["last"] - start
    r["seconds"] = round(dt, 3)
    r["received_per_s"] = round(r["client_events"] / dt) if dt > 0 else None
    if t0[0] is not None and t1 is not None:
        r["source_cpu_s"] = round((t1 - t0[0]) / CLK_TCK, 2)
        r["source_us_per_event"] = round(r["source_cpu_s"] / max(1, r["client_events"]) * 1e6, 3)
    return r


def live(build, out, events, rate):
    port = free_port()
    log = os.path.join(out, f"live-{rate}-sim.log")
    sim = spawn([os.path.join(build, "tickerd"), "sim", "--listen", f"127.0.0.1:{port}",
                 "--rate", str(rate), "--count", str(events), "--symbols", "500", "--batch",
                 "100", "--stats", "1"], log)
    wait_port(port)
    r = count_events(build, out, f"live-{rate}", port, sim, log, r"generator started")
    tot = grep_last(log, r"totals: (\d+) generated, (\d+) built, (\d+) sent")
    g, c = grep_last(log, r"generator started"), grep_last(log, r"--count \d+ reached")
    r["rate"] = rate
    r["sent"] = int(tot[1][3]) if tot else None
    r["slow_client_407"] = "slow client" in open(log, errors="replace").read()
    r["gen_seconds"] = round(wall(c[0]) - wall(g[0]), 3) if g and c else None
    # lossless, and the last event no later than 1.1 x the generation time
    r["kept_up"] = bool(not r["slow_client_407"] and r["sent"] == r["client_events"]
                        and r["gen_seconds"] and r["seconds"] <= 1.1 * r["gen_seconds"])
    return r


def live_ladder(build, out, events, rates):
    """The highest rate the live path keeps up with (BENCHMARKS.md §9's ladder)."""
    rungs, best = [], None
    for rate in rates:
        r = live(build, out, events, rate)
        rungs.append(r)
        if not r["kept_up"]:
            break
        best = r
    return {"rungs": rungs, "best": best}


def replay(build, out):
    port = free_port()
    log = os.path.join(out, "replay.log")
    files = sorted(glob.glob(os.path.join(out, "rec", "*.tdrec.zst")))
    if not files:
        raise HarnessError("no recording")
    rp = spawn([os.path.join(build, "tickerd"), "replay", *files, "--listen",
                f"127.0.0.1:{port}", "--speed", "max"], log)
    wait_port(port)
    r = count_events(build, out, "replay", port, rp, log, r"replay: /stocks started")
    m = grep_last(log, r"end of the recordings: (\d+) frames, (\d+) events \((\d+) sent\)")
    if m:
        r["replay_frames"], r["replay_events"], r["replay_sent"] = map(int, m[1].groups())
    return r


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    build, out = argv[1], argv[2]
    opt = {"--events": "1000000", "--record-rate": "200000",
           "--live-rates": "200000,400000,600000,800000,1000000"}
    for i in range(3, len(argv) - 1, 2):
        opt[argv[i]] = argv[i + 1]
    os.makedirs(out, exist_ok=True)
    for f in glob.glob(os.path.join(out, "rec", "*")):
        os.unlink(f)
    n, record_rate = int(opt["--events"]), int(opt["--record-rate"])
    res = {"events": n}
    res["record"] = record(build, out, n, record_rate, True)
    res["norecord"] = record(build, out, n, record_rate, False)
    a, b = res["record"], res["norecord"]
    if a.get("cpu_s") is not None and b.get("cpu_s") is not None and a.get("recorded_frames"):
        d = a["cpu_s"] - b["cpu_s"]
        res["record_cost"] = {"cpu_s": round(d, 3),
                              "us_per_frame": round(d / a["recorded_frames"] * 1e6, 3),
                              "us_per_event": round(d / max(1, a.get("sent", 0)) * 1e6, 4)}
    res["live"] = live_ladder(build, out, n, [int(x) for x in opt["--live-rates"].split(",")])
    res["replay"] = replay(build, out)
    with open(os.path.join(out, "replay-results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))
    best = res["live"]["best"] or {}
    lv, rp = best.get("received_per_s") or 0, res["replay"].get("received_per_s") or 0
    print(f"replay {rp}/s vs live {lv}/s (sim {best.get('rate')}/s, the highest kept up): "
          f"{'at least' if rp >= lv else 'BELOW'} the live path")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except HarnessError as e:
        print(f"replay bench: {e}", file=sys.stderr)
        sys.exit(1)
