#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Gateway benchmarks of tickerd: tickerd sim -> tickerd run --listen ->
bench_gw (N WebSocket clients in Alpaca's protocol), all on 127.0.0.1.

    /usr/bin/python3 bench/gw.py BUILD_DIR OUT_DIR [--clients 1000]
        [--rates 20000,50000,...] [--window 5] [--latency-window 10]
        [--idle-clients 10000] [--skip-ladder] [--skip-latency] [--skip-idle]
        [--latency-rate R] [--sim-arg=--tick-ms=1] [--run-arg=...] [--run-env N=V]

Each client subscribes trades and quotes of 10 of the sim's 1,000 symbols
(every symbol has clients/100 subscribers; trades bring corrections and
cancelErrors, as on Alpaca). The sim runs at a fixed --rate with --record.

1. ladder (saturation): for each rate, fresh sim + tickerd + bench_gw. A rung
   passes when every client got exactly the events of its symbols whose t
   (sim send time) is in the measuring window, per the sim's record; no client
   failed, closed or got an error; tickerd conflated nothing and disconnected
   no slow client; the sim generated >= 95 % of the rate in the window; and
   the last in-window event arrived no later than 10 % of the window after
   its end (delivery kept up). Stops at the first failing rung.
2. latency: the same at half the highest passing rate (or --latency-rate),
   with a longer window: p50/p90/p99/p99.9/max of now - t over every
   in-window event, from bench_gw's log-linear histogram; and of the
   kernel's receive timestamp of the client's socket - t ("at the socket":
   without the time the bytes waited for bench_gw, one thread, to read them).
3. idle: --idle-clients clients authenticated and subscribed, sim at 10
   events/s: tickerd's VmRSS before the clients and with them; per client.

CPU: utime+stime of tickerd, the sim and bench_gw from /proc/PID/stat over
the window, reported separately, and what the rest of the machine used
(like e2e.py). Writes raw logs and results.json to OUT_DIR; prints a
summary. Exit status 0 unless the harness itself failed. Every wait is
bounded. Standard library only.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import (CLK_TCK, HarnessError, all_ticks, free_port, log_wall, proc_mem,  # noqa: E402
                 proc_ticks, stop, system_ticks, top_others, wait_file)

KEY, SECRET = "bench", "bench"
SYMBOLS = 1000
PER_CLIENT = 10
EXTRA_RUN_ARGS = []
EXTRA_SIM_ARGS = []
RUN_ENV = {}


class GwRun:
    """One sim + tickerd (+ bench_gw) at a given rate."""

    def __init__(self, build, out, tag, rate, record=True):
        self.build, self.rate = build, rate
        self.dir = os.path.join(out, tag)
        os.makedirs(self.dir, exist_ok=True)
        self.tickerd = os.path.join(build, "tickerd")
        self.samples = []
        self.procs = {}
        self.record = os.path.join(self.dir, "record.jsonl") if record else None
        self.sim = self.run = self.gen = None
        self.all_a = (time.time(), all_ticks())

    def start_servers(self):
        sim_port, gw_port = free_port(), free_port()
        self.gw_port = gw_port
        self.sim_log = os.path.join(self.dir, "sim.log")
        self.run_log = os.path.join(self.dir, "tickerd.log")
        self.sim_cmd = [self.tickerd, "sim", "--listen", f"127.0.0.1:{sim_port}",
                        "--rate", str(self.rate), "--symbols", str(SYMBOLS), "--batch", "100",
                        "--stats", "1"] + (["--record", self.record] if self.record else []) + \
            EXTRA_SIM_ARGS
        self.run_cmd = [self.tickerd, "run", "--url", f"ws://127.0.0.1:{sim_port}/v2/iex",
                        "--listen", f"127.0.0.1:{gw_port}", "--client", f"{KEY}:{SECRET}",
                        "--max-clients", "0", "--stats-interval", "1"] + EXTRA_RUN_ARGS
        self.sim = subprocess.Popen(self.sim_cmd, stdout=subprocess.DEVNULL,
                                    stderr=open(self.sim_log, "w"))
        if not wait_file(self.sim_log, "listening on", 10):
            raise HarnessError("sim did not start (see " + self.sim_log + ")")
        env = dict(os.environ, APCA_API_KEY_ID="k", APCA_API_SECRET_KEY="s", **RUN_ENV)
        self.run = subprocess.Popen(self.run_cmd, stdout=subprocess.DEVNULL,
                                    stderr=open(self.run_log, "w"), env=env, cwd=self.dir)
        if not wait_file(self.run_log, "authenticated", 10):
            raise HarnessError("tickerd did not connect upstream (see " + self.run_log + ")")
        self.procs = {"sim": self.sim.pid, "tickerd": self.run.pid, "harness": os.getpid()}

    def start_gen(self, args):
        self.gen_out = os.path.join(self.dir, "bench_gw.out")
        self.gen_err = os.path.join(self.dir, "bench_gw.err")
        self.gen_cmd = [os.path.join(self.build, "bench_gw"), "--port", str(self.gw_port),
                        "--key", KEY, "--secret", SECRET, "--symbols", str(SYMBOLS),
                        "--per-client", str(PER_CLIENT)] + args
        with open(os.path.join(self.dir, "commands.txt"), "w") as f:
            f.write(" ".join(self.sim_cmd) + "\n")
            f.write("APCA_API_KEY_ID=k APCA_API_SECRET_KEY=s " + " ".join(self.run_cmd) + "\n")
            f.write(" ".join(self.gen_cmd) + "\n")
        self.gen = subprocess.Popen(self.gen_cmd, stdout=open(self.gen_out, "w"),
                                    stderr=open(self.gen_err, "w"))
        self.procs["bench_gw"] = self.gen.pid
        self.sample()
        self.all_a = (time.time(), all_ticks())

    def sample(self):
        d = {k: proc_ticks(pid) for k, pid in self.procs.items()}
        d["_sys"] = system_ticks()
        self.samples.append((time.time(), d))

    def wait_ready(self, timeout):
        """Samples until bench_gw printed "ready"; returns the window start (epoch s)."""
        end = time.time() + timeout
        while time.time() < end:
            self.sample()
            with open(self.gen_out, errors="replace") as f:
                m = re.search(r"ready: .*window from (\S+)", f.read())
            if m:
                return time.time() + 0.3  # bench_gw's --settle-ms
            if self.gen.poll() is not None:
                raise HarnessError("bench_gw exited before its clients were ready (see "
                                   + self.gen_err + ")")
            time.sleep(0.1)
        raise HarnessError("bench_gw clients not ready in time")

    def wait_gen(self, timeout, until=None):
        end = time.time() + timeout
        while time.time() < end:
            self.sample()
            if until is not None and time.time() >= until:
                return True
            if self.gen.poll() is not None:
                return True
            time.sleep(0.1)
        return False

    def cpu_between(self, t0, t1):
        """CPU % of one core per process between the samples nearest t0 and t1."""
        a = min(self.samples, key=lambda s: abs(s[0] - t0))
        b = min(self.samples, key=lambda s: abs(s[0] - t1))
        dt = b[0] - a[0]
        out = {}
        for k in self.procs:
            x, y = a[1].get(k), b[1].get(k)
            if x is None or y is None or dt <= 0:
                continue
            out[k] = round(100.0 * (y - x) / CLK_TCK / dt, 1)
        (b0, s0_, q0), (b1, s1_, q1) = a[1]["_sys"], b[1]["_sys"]
        if s1_ > s0_:
            ncpu = os.cpu_count() or 1
            out["machine_busy_pct_of_all_cores"] = round(100.0 * (b1 - b0) / (s1_ - s0_), 1)
            out["machine_softirq_pct_of_one_core"] = round(100.0 * ncpu * (q1 - q0) / (s1_ - s0_), 1)
            out["unaccounted_pct_of_one_core"] = round(
                ncpu * out["machine_busy_pct_of_all_cores"] - out["machine_softirq_pct_of_one_core"]
                - sum(v for k, v in out.items() if k in self.procs), 1)
        out["window_s"] = round(dt, 2)
        return out

    def result(self):
        with open(self.gen_out, errors="replace") as f:
            m = re.search(r"^RESULT (\{.*\})$", f.read(), re.M)
        if not m:
            raise HarnessError("no RESULT from bench_gw (see " + self.gen_out + ")")
        return json.loads(m[1])

    def finish(self):
        all_b = (time.time(), all_ticks())
        others = top_others(self.all_a[1], all_b[1], all_b[0] - self.all_a[0],
                            set(self.procs.values()))
        for p in (self.gen, self.sim, self.run):
            if p:
                stop(p)
        with open(self.run_log, errors="replace") as f:
            run_text = f.read()
        r = {"rate": self.rate, "other_processes_cpu": others}
        conf = [int(x) for x in re.findall(r"conflated=(\d+)", run_text)]
        slow = [int(x) for x in re.findall(r"slow=(\d+)", run_text)]
        queued = [int(x) for x in re.findall(r"queued=(\d+)B", run_text)]
        r["tickerd_conflated"] = max(conf) if conf else None
        r["tickerd_slow"] = max(slow) if slow else None
        r["tickerd_queued_max_bytes"] = max(queued) if queued else None
        r["tickerd_client_errors"] = len(re.findall(r"client #\d+ error", run_text))
        r["upstream_reconnects"] = max([int(x) for x in re.findall(r"reconnects=(\d+)", run_text)]
                                       or [0])
        with open(self.sim_log, errors="replace") as f:
            self.sim_lines = f.read().splitlines()
        r["sim_slow_client_407"] = any("error 407" in x for x in self.sim_lines)
        if self.record and os.path.exists(self.record):
            r["record_mb"] = round(os.path.getsize(self.record) / 1e6, 1)
            os.unlink(self.record)  # large; the counts are in bench_gw's RESULT
        return r

    def sim_rate(self, t0, t1):
        """Events/s the sim generated between its stats lines nearest t0 and t1."""
        pts = []
        for line in self.sim_lines:
            m = re.search(r"totals: (\d+) generated", line)
            t = log_wall(line)
            if m and t:
                pts.append((t, int(m[1])))
        if len(pts) < 2:
            return None
        a = min(pts, key=lambda p: abs(p[0] - t0))
        b = min(pts, key=lambda p: abs(p[0] - t1))
        return round((b[1] - a[1]) / (b[0] - a[0])) if b[0] > a[0] else None


def measure(build, out, tag, clients, rate, window):
    g = GwRun(build, out, tag, rate)
    try:
        g.start_servers()
        g.start_gen(["--clients", str(clients), "--window", str(window),
                     "--record", g.record, "--counts", os.path.join(g.dir, "counts.txt")])
        t0 = g.wait_ready(60)
        t1 = t0 + window
        ok = g.wait_gen(window + max(2, window / 2) + 10)
    finally:
        r = g.finish()
    res = g.result()
    r.update({"clients": clients, "window": window, "gen": res,
              "cpu": g.cpu_between(t0, t1), "sim_rate": g.sim_rate(t0, t1)})
    why = []
    if not ok:
        why.append("bench_gw did not finish in time")
    if res["subscribed"] != clients or res["failed"] or res["closed"] or res["errors"]:
        why.append(f"clients: {res['subscribed']} subscribed, {res['failed']} failed, "
                   f"{res['closed']} closed, {res['errors']} errors ({res['first_error']})")
    if not res["record_complete"]:
        why.append("sim record incomplete")
    if res["missing"] or res["extra"]:
        why.append(f"{res['missing']} events missing, {res['extra']} extra "
                   f"({res['short_clients']} clients short)")
    if r["tickerd_conflated"] or r["tickerd_slow"] or r["tickerd_client_errors"]:
        why.append(f"tickerd conflated {r['tickerd_conflated']}, slow {r['tickerd_slow']}, "
                   f"client errors {r['tickerd_client_errors']}")
    if r["upstream_reconnects"] or r["sim_slow_client_407"]:
        why.append("upstream reconnected / 407 from the sim")
    if not r["sim_rate"] or r["sim_rate"] < 0.95 * rate:
        why.append(f"sim generated {r['sim_rate']}/s")
    if res["drain_s"] > 0.1 * window:
        why.append(f"delivery did not keep up (last in-window event {res['drain_s']:.2f} s "
                   f"after the window)")
    r["pass"] = not why
    r["why"] = why
    c, lat, kl = r["cpu"], res["latency_us"], res["latency_kernel_us"]
    print(f"  {tag}: {'PASS' if r['pass'] else 'FAIL'} sim {r['sim_rate']}/s, delivered "
          f"{res['delivered_per_s']:.0f}/s ({res['received']}/{res['expected']} to "
          f"{res['subscribed']} clients, drain {res['drain_s']:.3f} s, "
          f"{res['events_total'] / max(1, res['frames']):.2f} events/frame) | latency us p50 "
          f"{lat['p50']} p99 {lat['p99']} p999 {lat['p999']} max {lat['max']:.0f}, at the "
          f"socket p50 {kl['p50']} p99 {kl['p99']} p999 {kl['p999']} | cpu% tickerd "
          f"{c.get('tickerd')} sim {c.get('sim')} bench_gw {c.get('bench_gw')} harness "
          f"{c.get('harness')} softirq {c.get('machine_softirq_pct_of_one_core')} not ours "
          f"{c.get('unaccounted_pct_of_one_core')} (machine {c.get('machine_busy_pct_of_all_cores')}"
          f"% of all cores)" + ("" if r["pass"] else " | " + "; ".join(why)), flush=True)
    busy = [o for o in r["other_processes_cpu"] if o["cpu_pct"] >= 5]
    if busy:
        print("    other processes busy during this run: " +
              ", ".join(f"{o['comm']}({o['pid']}) {o['cpu_pct']}%" for o in busy), flush=True)
    return r


def idle(build, out, clients, rate=10, settle=3):
    g = GwRun(build, out, f"idle-{clients}", rate, record=False)
    try:
        g.start_servers()
        time.sleep(1)
        before = proc_mem(g.run.pid)
        g.start_gen(["--clients", str(clients), "--hold", "100"])
        t_ready = g.wait_ready(90)
        g.wait_gen(settle + 1, until=t_ready + settle)
        after = proc_mem(g.run.pid)
        cpu = g.cpu_between(t_ready, t_ready + settle)
        setup_cpu = g.cpu_between(g.samples[0][0], t_ready)
        os.kill(g.gen.pid, signal.SIGTERM)
        g.wait_gen(10)
    finally:
        r = g.finish()
    res = g.result()
    per = (after["VmRSS"] - before["VmRSS"]) / clients * 1024
    r.update({"clients": clients, "gen": res, "rss_before_kb": before.get("VmRSS"),
              "rss_after_kb": after.get("VmRSS"), "hwm_after_kb": after.get("VmHWM"),
              "rss_per_client_bytes": round(per), "cpu_idle": cpu, "cpu_setup": setup_cpu,
              "pass": res["subscribed"] == clients and not res["errors"]})
    print(f"  idle {clients}: {res['subscribed']} subscribed in {res['setup_s']:.2f} s "
          f"({res['errors']} errors); tickerd VmRSS {before.get('VmRSS')} -> {after.get('VmRSS')} kB "
          f"(VmHWM {after.get('VmHWM')} kB): {per:.0f} B = {per / 1024:.2f} KiB per client | "
          f"cpu% while connecting: tickerd {setup_cpu.get('tickerd')} bench_gw "
          f"{setup_cpu.get('bench_gw')}; idle: tickerd {cpu.get('tickerd')}", flush=True)
    return r


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("out")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rates", default="20000,40000,60000,80000,100000,120000,150000,200000")
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--latency-rate", type=int, default=0, help="default: half the best rung")
    ap.add_argument("--latency-window", type=float, default=10)
    ap.add_argument("--idle-clients", type=int, default=10000)
    ap.add_argument("--skip-ladder", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--run-arg", action="append", default=[], help="extra tickerd run argument")
    ap.add_argument("--sim-arg", action="append", default=[], help="extra tickerd sim argument")
    ap.add_argument("--run-env", action="append", default=[], help="NAME=VALUE for tickerd run")
    a = ap.parse_args(argv)
    a.build = os.path.abspath(a.build)
    a.out = os.path.abspath(a.out)
    EXTRA_RUN_ARGS.extend(a.run_arg)
    EXTRA_SIM_ARGS.extend(a.sim_arg)
    RUN_ENV.update(x.split("=", 1) for x in a.run_env)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    res = {"clients": a.clients, "symbols": SYMBOLS, "per_client": PER_CLIENT,
           "window": a.window}
    try:
        if not a.skip_ladder:
            print(f"== gateway saturation: {a.clients} clients, {a.window:g} s windows", flush=True)
            lad = []
            for rate in [int(x) for x in a.rates.split(",")]:
                r = measure(a.build, a.out, f"gw-{a.clients}-{rate}", a.clients, rate, a.window)
                lad.append(r)
                if not r["pass"]:
                    break
            res["ladder"] = lad
            best = max([r for r in lad if r["pass"]], key=lambda r: r["rate"], default=None)
            res["best_rate"] = best["rate"] if best else 0
            res["best_delivered_per_s"] = best["gen"]["delivered_per_s"] if best else 0
            first_fail = next((r for r in lad if not r["pass"]), None)
            res["stopped_by"] = first_fail["why"] if first_fail else "top of the ladder"
            print(f"  highest rate with every event to every client: {res['best_rate']}/s sim, "
                  f"{res['best_delivered_per_s']:.0f} events/s delivered", flush=True)
        if not a.skip_latency:
            rate = a.latency_rate or (res.get("best_rate", 0) // 2)
            if rate > 0:
                print(f"== gateway latency: {a.clients} clients at {rate}/s, "
                      f"{a.latency_window:g} s window", flush=True)
                res["latency"] = measure(a.build, a.out, f"lat-{a.clients}-{rate}", a.clients,
                                         rate, a.latency_window)
        if not a.skip_idle:
            print(f"== gateway memory: {a.idle_clients} idle clients", flush=True)
            res["idle"] = idle(a.build, a.out, a.idle_clients)
    finally:
        res["wall_s"] = round(time.time() - t0, 1)
        with open(os.path.join(a.out, "gw-results.json"), "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HarnessError as e:
        print("gw: harness failure:", e, file=sys.stderr)
        sys.exit(1)
