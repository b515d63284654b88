#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end benchmarks of tickerd: sim -> tickerd run --redis -> redis-server
-> bench_sub pattern subscribers, all on 127.0.0.1.

    /usr/bin/python3 bench/e2e.py BUILD_DIR OUT_DIR [--rates 50000,100000,...]
                                  [--seconds 4] [--steady-rate 100000]
                                  [--steady-window 20] [--skip-ladder] [--skip-steady]

1. ceiling: redis-benchmark -q -P 64 -n 2000000 PUBLISH ch msg on the same
   redis-server the ladder uses.
2. ladder: for each rate, a fresh sim (--count rate x seconds, --batch 100,
   --symbols 500), a fresh tickerd and fresh subscribers (one bench_sub process
   per pattern); a rung passes when nothing is lost (every event the sim built
   and sent reached a subscriber, tickerd dropped nothing, no reconnect), the
   sim generated at >= 95 % of the asked rate and delivery kept up (events
   received / (last delivery - generator start) >= 90 % of the rate). The
   ladder stops at the first rung that fails.
3. steady: sim at --steady-rate; tickerd's CPU (utime+stime from
   /proc/PID/stat) over a --steady-window seconds window after warm-up, VmRSS
   and VmHWM at its end; the subscribers' latency percentiles.

Writes raw logs and results.json to OUT_DIR; prints a summary. Exit status 0
unless the harness itself failed (a missed target is not a failure).
Standard library only. Every wait is bounded.
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SUBSCRIBE = "trades=*;quotes=*;bars=*;statuses=*"
# trades=* implies corrections and cancelErrors (Alpaca's rule, and the sim's):
# they are subscribed too so that every event the sim sends is accounted for.
PATTERNS = ["trades.*", "quotes.*", "bars.*", "statuses.*", "corrections.*", "cancelErrors.*"]
EXTRA_RUN_ARGS = []  # --run-arg (experiments only)
SINGLE_SUB = False  # --single-sub: one bench_sub process with every pattern
IDLE = 2  # bench_sub exits this many seconds after its last message


class HarnessError(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            d = f.read()
    except OSError:
        return None
    s = d[d.rfind(")") + 2:].split()
    return int(s[11]) + int(s[12])


def system_ticks():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    total = sum(v[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total, v[6]  # busy, total, softirq


def all_ticks():
    """{pid: (comm, ticks)} of every process (to find CPU used outside the benchmark)."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    x = f.read()
            except OSError:
                continue
            s = x[x.rfind(")") + 2:].split()
            out[int(d)] = (x[x.find("(") + 1:x.rfind(")")], int(s[11]) + int(s[12]))
    return out


def top_others(a, b, dt, exclude):
    """Processes outside `exclude` that used the most CPU between snapshots a and b."""
    rows = []
    for pid, (comm, t) in b.items():
        if pid in exclude:
            continue
        d = t - a.get(pid, (comm, 0))[1]
        if d > 0:
            rows.append((round(100.0 * d / CLK_TCK / dt, 1), pid, comm))
    rows.sort(reverse=True)
    return [{"cpu_pct": c, "pid": p, "comm": n} for c, p, n in rows[:5]]


def proc_mem(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def log_wall(line):
    """Seconds since the epoch of a tickerd log line (HH:MM:SS.mmm, UTC, with or
    without a leading YYYY-MM-DDT and a trailing Z)."""
    m = re.match(r"(?:\d{4}-\d\d-\d\dT)?(\d\d):(\d\d):(\d\d)\.(\d{3})Z? ", line)
    if not m:
        return None
    sod = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000
    now = time.time()
    day = now - now % 86400
    t = day + sod
    if t - now > 43200:
        t -= 86400
    elif now - t > 43200:
        t += 86400
    return t


def grep_last(path, rx):
    last = None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(rx, line)
            if m:
                last = (line, m)
    return last


def wait_file(path, needle, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                if needle in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def stop(p, sig=signal.SIGTERM, timeout=5):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


class Redis:
    def __init__(self, out):
        self.port = free_port()
        self.out = out
        self.log = open(os.path.join(out, "redis.log"), "w")
        self.args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                     "--dir", out, "--save", "", "--appendonly", "no",
                     "--client-output-buffer-limit", "pubsub 0 0 0", "--daemonize", "no"]
        self.p = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 10
        while time.time() < end:
            r = subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                               capture_output=True, text=True)
            if r.stdout.strip() == "PONG":
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise HarnessError("redis-server did not come up")

    def close(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
                       capture_output=True, timeout=10)
        stop(self.p)
        self.log.close()


def redis_ceiling(r, out):
    cmd = ["redis-benchmark", "-p", str(r.port), "-q", "-P", "64", "-n", "2000000",
           "PUBLISH", "ch", "msg"]
    t0 = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    raw = res.stdout + res.stderr
    with open(os.path.join(out, "redis-benchmark.txt"), "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + raw)
    # -q prints progress with \r, then "PUBLISH ch msg: 1923076.88 requests per second, ..."
    m = re.findall(r"PUBLISH ch msg: ([\d.]+) requests per second", raw.replace("\r", "\n"))
    if not m:
        raise HarnessError("cannot parse redis-benchmark output: " + raw[-300:])
    return {"cmd": "redis-benchmark -q -P 64 -n 2000000 PUBLISH ch msg (50 clients, default)",
            "publish_per_s": float(m[-1]), "seconds": round(time.time() - t0, 2)}


class Sub:
    def __init__(self, build, port, patterns, out):
        self.pattern = " ".join(patterns)
        name = patterns[0].rstrip(".*") if len(patterns) == 1 else "all"
        self.path = os.path.join(out, "sub-" + name + ".out")
        self.f = open(self.path, "w+")
        self.p = subprocess.Popen([os.path.join(build, "bench_sub"), str(port), str(IDLE)] + patterns,
                                  stdout=subprocess.PIPE, text=True)
        r, _, _ = select.select([self.p.stdout], [], [], 10)
        line = self.p.stdout.readline() if r else ""
        if line.strip() != "ready":
            raise HarnessError(f"bench_sub {pattern} not ready: {line!r}")
        self.exit_t = None

    def poll(self):
        if self.exit_t is None and self.p.poll() is not None:
            self.exit_t = time.time()
        return self.exit_t is not None

    def finish(self):
        if self.p.poll() is None:
            self.p.kill()
        rest = self.p.stdout.read()
        self.p.wait(5)
        self.f.write("ready\n" + rest)
        self.f.close()
        m = re.search(r"received (\d+)", rest)
        self.received = int(m[1]) if m else None
        m = re.search(r"latency_us p50 ([\d.]+) p99 ([\d.]+) p999 ([\d.]+) max ([\d.]+) \(n=(\d+)\)",
                      rest)
        self.latency = ({"p50_us": float(m[1]), "p99_us": float(m[2]), "p999_us": float(m[3]),
                         "max_us": float(m[4]), "samples": int(m[5])} if m else None)


class Rung:
    """One sim + tickerd + subscribers run at a given rate."""

    def __init__(self, build, redis, out, tag, rate, count):
        self.build, self.redis, self.tag, self.rate, self.count = build, redis, tag, rate, count
        self.dir = os.path.join(out, tag)
        os.makedirs(self.dir, exist_ok=True)
        self.tickerd = os.path.join(build, "tickerd")
        self.samples = []  # (time, {name: ticks})
        self.procs = {}

    def start(self):
        if SINGLE_SUB:
            self.subs = [Sub(self.build, self.redis.port, PATTERNS, self.dir)]
        else:
            self.subs = [Sub(self.build, self.redis.port, [p], self.dir) for p in PATTERNS]
        sim_port = free_port()
        self.sim_log = os.path.join(self.dir, "sim.log")
        self.run_log = os.path.join(self.dir, "tickerd.log")
        self.sim_cmd = [self.tickerd, "sim", "--listen", f"127.0.0.1:{sim_port}",
                        "--rate", str(self.rate), "--count", str(self.count), "--batch", "100",
                        "--symbols", "500", "--stats", "1"]
        self.run_cmd = [self.tickerd, "run", "--url", f"ws://127.0.0.1:{sim_port}/v2/iex",
                        "--subscribe", SUBSCRIBE, "--redis", f"redis://127.0.0.1:{self.redis.port}",
                        "--stats-interval", "1"] + EXTRA_RUN_ARGS
        with open(os.path.join(self.dir, "commands.txt"), "w") as f:
            f.write(" ".join(self.sim_cmd) + "\n")
            f.write("APCA_API_KEY_ID=k APCA_API_SECRET_KEY=s " +
                    " ".join(a if " " not in a and ";" not in a and "*" not in a else repr(a)
                             for a in self.run_cmd) + "\n")
            for s in self.subs:
                f.write(f"bench_sub {self.redis.port} {IDLE} " +
                        " ".join(f"'{p}'" for p in s.pattern.split()) + "\n")
        self.sim = subprocess.Popen(self.sim_cmd, stdout=subprocess.DEVNULL,
                                    stderr=open(self.sim_log, "w"))
        if not wait_file(self.sim_log, "listening on", 10):
            raise HarnessError("sim did not start (see " + self.sim_log + ")")
        env = dict(os.environ, APCA_API_KEY_ID="k", APCA_API_SECRET_KEY="s")
        self.run = subprocess.Popen(self.run_cmd, stdout=subprocess.DEVNULL,
                                    stderr=open(self.run_log, "w"), env=env)
        self.procs = {"sim": self.sim.pid, "tickerd": self.run.pid, "redis": self.redis.p.pid,
                      "harness": os.getpid()}
        for i, s in enumerate(self.subs):
            self.procs["sub:" + s.pattern] = s.p.pid
        self.sample()
        self.all_a = (time.time(), all_ticks())

    def sample(self):
        t = time.time()
        d = {k: proc_ticks(pid) for k, pid in self.procs.items()}
        d["_sys"] = system_ticks()
        self.samples.append((t, d))

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
        out["subscribers"] = round(sum(v for k, v in out.items() if k.startswith("sub:")), 1)
        out["benchmark_processes"] = round(sum(v for k, v in out.items()
                                               if k in ("sim", "tickerd", "redis", "subscribers",
                                                        "harness")), 1)
        (b0, t0_, s0), (b1, t1_, s1) = a[1]["_sys"], b[1]["_sys"]
        if t1_ > t0_:
            ncpu = os.cpu_count() or 1
            out["machine_busy_pct_of_all_cores"] = round(100.0 * (b1 - b0) / (t1_ - t0_), 1)
            out["machine_softirq_pct_of_one_core"] = round(100.0 * ncpu * (s1 - s0) / (t1_ - t0_), 1)
            # busy time on the machine not charged to any benchmark process nor to softirq:
            # other jobs (short-lived ones too), kernel threads
            out["unaccounted_pct_of_one_core"] = round(
                ncpu * out["machine_busy_pct_of_all_cores"] - out["machine_softirq_pct_of_one_core"]
                - sum(v for k, v in out.items() if k in ("sim", "tickerd", "redis", "harness"))
                - out["subscribers"], 1)
        out["window_s"] = round(dt, 2)
        return out

    def cpu_peak(self, t0, t1):
        """Highest CPU % of one core per process over any ~1 s between t0 and t1."""
        ss = [s for s in self.samples if t0 - 0.05 <= s[0] <= t1 + 0.05]
        out = {}
        for k in self.procs:
            if k == "_sys":
                continue
            best = None
            j = 0
            for i in range(len(ss)):
                while j < len(ss) and ss[j][0] - ss[i][0] < 1.0:
                    j += 1
                if j >= len(ss):
                    break
                x, y, dt = ss[i][1].get(k), ss[j][1].get(k), ss[j][0] - ss[i][0]
                if x is None or y is None:
                    continue
                v = 100.0 * (y - x) / CLK_TCK / dt
                best = v if best is None else max(best, v)
            if best is not None:
                out[k] = round(best, 1)
        return out

    def wait_done(self, deadline_s, until=None):
        """Samples CPU every 100 ms until every subscriber went idle (or `until`)."""
        end = time.time() + deadline_s
        while time.time() < end:
            self.sample()
            if until is not None and time.time() >= until:
                return True
            if all(s.poll() for s in self.subs):
                return True
            if self.run.poll() is not None or self.sim.poll() is not None:
                # tickerd or sim died: give the subscribers their idle time to notice
                pass
            time.sleep(0.1)
        return False

    def finish(self):
        all_b = (time.time(), all_ticks())
        others = top_others(self.all_a[1], all_b[1], all_b[0] - self.all_a[0],
                            set(self.procs.values()))
        for p in (self.sim, self.run):
            stop(p)
        for s in self.subs:
            s.finish()
        r = {"rate": self.rate, "count": self.count, "other_processes_cpu": others}
        # sim
        g = grep_last(self.sim_log, r"generator started")
        c = grep_last(self.sim_log, r"--count (\d+) reached")
        tot = grep_last(self.sim_log, r"totals: (\d+) generated, (\d+) built, (\d+) sent in (\d+) frames")
        r["sim_exit"] = self.sim.returncode
        r["gen_start"] = log_wall(g[0]) if g else None
        r["count_reached"] = log_wall(c[0]) if c else None
        if tot:
            m = tot[1]
            r["generated"], r["built"], r["sent"], r["frames"] = map(int, m.groups())
        with open(self.sim_log, errors="replace") as f:
            sim_text = f.read()
        r["sim_conns"] = len(re.findall(r"conn #\d+ open", sim_text))
        r["sim_slow_client_407"] = "error 407" in sim_text
        # tickerd
        st = grep_last(self.run_log, r"redis: stopped \(([^)]*)\); published (\d+), dropped (\d+) "
                       r"\((\d+) pending at stop\), errors (\d+), reconnects (\d+)")
        r["tickerd_exit"] = self.run.returncode
        if st:
            m = st[1]
            r["published"], r["dropped"], r["pending_at_stop"], r["redis_errors"], \
                r["redis_reconnects"] = map(int, m.groups()[1:])
        with open(self.run_log, errors="replace") as f:
            run_text = f.read()
        rec = [int(x) for x in re.findall(r"reconnects=(\d+)", run_text)]
        mal = [int(x) for x in re.findall(r"malformed=(\d+)", run_text)]
        drp = [int(x) for x in re.findall(r"dropped=(\d+)", run_text)]
        r["upstream_reconnects"] = max(rec) if rec else None
        r["malformed"] = max(mal) if mal else None
        r["stats_dropped_max"] = max(drp) if drp else None
        r["upstream_closed"] = run_text.count("connection closed")
        # subscribers
        r["received"] = {s.pattern: s.received for s in self.subs}
        r["received_total"] = (sum(s.received for s in self.subs)
                               if all(s.received is not None for s in self.subs) else None)
        r["latency"] = {s.pattern: s.latency for s in self.subs if s.latency
                        and s.pattern in ("quotes.*", "trades.*", " ".join(PATTERNS))}
        exits = [s.exit_t for s in self.subs if s.exit_t]
        r["last_delivery"] = (max(exits) - IDLE) if exits else None
        # derived
        if r.get("gen_start") and r.get("count_reached"):
            d = r["count_reached"] - r["gen_start"]
            r["sim_seconds"] = round(d, 3)
            r["sim_rate"] = round(r.get("generated", 0) / d) if d > 0 else None
        if r.get("gen_start") and r.get("last_delivery") and r.get("received_total"):
            d = r["last_delivery"] - r["gen_start"]
            r["delivery_seconds"] = round(d, 3)
            r["delivered_rate"] = round(r["received_total"] / d) if d > 0 else None
            r["cpu"] = self.cpu_between(r["gen_start"], r["last_delivery"])
            r["cpu_peak_1s"] = self.cpu_peak(r["gen_start"], r["last_delivery"])
        return r


def judge(r):
    why = []
    if r.get("generated") != r["count"]:
        why.append(f"sim generated {r.get('generated')} of {r['count']}")
    if r.get("built") is None or r.get("received_total") is None:
        why.append("missing counters")
    else:
        if not (r["built"] == r["sent"] == r.get("published") == r["received_total"]):
            why.append(f"loss: built {r['built']} sent {r['sent']} published {r.get('published')}"
                       f" received {r['received_total']}")
    if r.get("dropped") or r.get("stats_dropped_max"):
        why.append(f"tickerd dropped {r.get('dropped')}")
    if r.get("upstream_reconnects") or r.get("sim_conns") != 1 or r.get("sim_slow_client_407"):
        why.append("upstream reconnected / 407")
    sim_ok = r.get("sim_rate") and r["sim_rate"] >= 0.95 * r["rate"]
    if not sim_ok:
        why.append(f"sim did not reach the rate ({r.get('sim_rate')}/s)")
    if not (r.get("delivery_seconds") and r.get("sim_seconds")
            and r["delivery_seconds"] <= 1.1 * r["sim_seconds"]):
        why.append(f"delivery did not keep up (last event delivered {r.get('delivery_seconds')} s "
                   f"after the generator started; the sim took {r.get('sim_seconds')} s)")
    r["pass"] = not why
    r["why"] = why
    r["sim_limited"] = not sim_ok
    return r


def ladder(build, redis, out, rates, seconds):
    results = []
    for rate in rates:
        count = int(rate * seconds)
        rung = Rung(build, redis, out, f"rung-{rate}", rate, count)
        try:
            rung.start()
            ok = rung.wait_done(seconds * 4 + 20)
        finally:
            r = judge(rung.finish())
        if not ok:
            r["pass"] = False
            r["why"].append("timed out")
        results.append(r)
        cpu = r.get("cpu", {})
        print(f"  rate {rate:>8}: {'PASS' if r['pass'] else 'FAIL'} sim {r.get('sim_rate')}/s "
              f"forwarded {r.get('delivered_rate')}/s received {r.get('received_total')}/"
              f"{r.get('built')} | cpu% sim {cpu.get('sim')} tickerd {cpu.get('tickerd')} "
              f"redis {cpu.get('redis')} subs {cpu.get('subscribers')} harness {cpu.get('harness')} | machine "
              f"{cpu.get('machine_busy_pct_of_all_cores')}% of 2 cores busy, softirq "
              f"{cpu.get('machine_softirq_pct_of_one_core')}, not ours {cpu.get('unaccounted_pct_of_one_core')}"
              f" | peak-1s tickerd "
              f"{r.get('cpu_peak_1s', {}).get('tickerd')} redis {r.get('cpu_peak_1s', {}).get('redis')}"
              + ("" if r["pass"] else " | " + "; ".join(r["why"])), flush=True)
        busy = [o for o in r["other_processes_cpu"] if o["cpu_pct"] >= 5]
        if busy:
            print("    other processes busy during this rung: " +
                  ", ".join(f"{o['comm']}({o['pid']}) {o['cpu_pct']}%" for o in busy), flush=True)
        if not r["pass"]:
            break
    return results


def steady(build, redis, out, rate, window, warmup=4):
    total_s = warmup + window + 2
    rung = Rung(build, redis, out, f"steady-{rate}", rate, int(rate * total_s))
    try:
        rung.start()
        t_start = time.time()
        # wait for the generator, then warm up
        if not wait_file(rung.sim_log, "generator started", 10):
            raise HarnessError("sim generator did not start")
        t0 = time.time() + warmup
        rung.wait_done(warmup + 1, until=t0)
        a = (time.time(), proc_ticks(rung.run.pid))
        rung.wait_done(window + 1, until=t0 + window)
        b = (time.time(), proc_ticks(rung.run.pid))
        mem = proc_mem(rung.run.pid)
        cpu_all = rung.cpu_between(a[0], b[0])
        ok = rung.wait_done(total_s + 30)
    finally:
        r = judge(rung.finish())
    r["steady"] = {"rate": rate, "warmup_s": warmup, "window_s": round(b[0] - a[0], 2),
                   "tickerd_cpu_pct": round(100.0 * (b[1] - a[1]) / CLK_TCK / (b[0] - a[0]), 1),
                   "tickerd_vmrss_kb": mem.get("VmRSS"), "tickerd_vmhwm_kb": mem.get("VmHWM"),
                   "cpu_pct_all": cpu_all, "harness_wall_s": round(time.time() - t_start, 1)}
    if not ok:
        r["pass"] = False
        r["why"].append("timed out")
    s = r["steady"]
    print(f"  steady {rate}/s: tickerd CPU {s['tickerd_cpu_pct']} % of one core over "
          f"{s['window_s']} s, VmRSS {s['tickerd_vmrss_kb']} kB, VmHWM {s['tickerd_vmhwm_kb']} kB;"
          f" lossless {r['pass']}; latency {json.dumps(r['latency'])}", flush=True)
    c = s["cpu_pct_all"]
    print(f"    same window, % of one core: sim {c.get('sim')} redis {c.get('redis')} subscribers "
          f"{c.get('subscribers')}; machine {c.get('machine_busy_pct_of_all_cores')}% of 2 cores "
          f"busy, not ours {c.get('unaccounted_pct_of_one_core')}", flush=True)
    return r


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("out")
    ap.add_argument("--rates", default="50000,100000,200000,300000,400000,500000,600000,"
                                       "800000,1000000,1200000")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--steady-rate", type=int, default=100000)
    ap.add_argument("--steady-window", type=float, default=20)
    ap.add_argument("--skip-ladder", action="store_true")
    ap.add_argument("--skip-steady", action="store_true")
    ap.add_argument("--single-sub", action="store_true",
                    help="one bench_sub process with every pattern (default: one per pattern)")
    ap.add_argument("--run-arg", action="append", default=[],
                    help="extra tickerd run argument (experiments only)")
    a = ap.parse_args(argv)
    global SINGLE_SUB
    SINGLE_SUB = a.single_sub
    EXTRA_RUN_ARGS.extend(a.run_arg)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    res = {"patterns": PATTERNS, "subscribe": SUBSCRIBE}
    redis = Redis(a.out)
    try:
        res["redis_args"] = redis.args
        res["ceiling"] = redis_ceiling(redis, a.out)
        print(f"  ceiling: redis-benchmark PUBLISH -P 64: {res['ceiling']['publish_per_s']:.0f}/s",
              flush=True)
        if not a.skip_ladder:
            lad = ladder(a.build, redis, a.out, [int(x) for x in a.rates.split(",")], a.seconds)
            res["ladder"] = lad
            best = max([r["rate"] for r in lad if r["pass"]], default=0)
            best_r = next((r for r in lad if r["rate"] == best), None)
            res["best_lossless_rate"] = best
            res["best_delivered_rate"] = best_r["delivered_rate"] if best_r else 0
            res["ratio_vs_redis_benchmark"] = round(best / res["ceiling"]["publish_per_s"], 3)
            first_fail = next((r for r in lad if not r["pass"]), None)
            res["stopped_by"] = (first_fail["why"] if first_fail else "top of the ladder")
            print(f"  highest lossless rate: {best}/s = "
                  f"{res['ratio_vs_redis_benchmark']:.3f} x redis-benchmark", flush=True)
        if not a.skip_steady:
            res["steady"] = steady(a.build, redis, a.out, a.steady_rate, a.steady_window)
    finally:
        redis.close()
        res["wall_s"] = round(time.time() - t0, 1)
        with open(os.path.join(a.out, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HarnessError as e:
        print("e2e: harness failure:", e, file=sys.stderr)
        sys.exit(1)
