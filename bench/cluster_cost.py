#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tickerd publishing to one Redis vs a Redis Cluster of 3 primaries, same
load: tickerd sim --rate 60000 --batch 100 --symbols 500, tickerd run
--subscribe 'trades=*;quotes=*' --redis URL, one subscriber to every
trades/quotes/corrections/cancelErrors.<S> channel (SUBSCRIBE on one Redis; SSUBSCRIBE on the
shard of each channel on the cluster: patterns do not see SPUBLISH), all on
127.0.0.1. The contenders alternate, `--rounds` times each.

    /usr/bin/python3 bench/cluster_cost.py TICKERD [--seconds 8] [--warmup 3]
                                          [--rate 60000] [--rounds 2]

Per run, over the window: published/s (PUBLISH or SPUBLISH executed, INFO
commandstats summed over the primaries), delivered/published (messages the
subscriber read), and tickerd's CPU µs per event (utime+stime /
published). One JSON line per run, then a summary line; every wait bounded.
"""
import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

from benchlib import CLK_TCK, ROOT, Procs, harness, proc_ticks

STOCKS = ROOT / "src/sim/gen.c"


def symbols(n):
    """The sim's first n stock symbols: its table in src/sim/gen.c, then
    the names it makes up past it (XAAA, XAAB, ... by index)."""
    text = STOCKS.read_text()
    body = text[text.index("stock_names[] = {"):]
    body = body[:body.index("};")]
    out = [s.strip().strip('"') for s in body.split("{", 1)[1].split(",") if '"' in s][:n]
    az = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out += ["X" + az[i // 676 % 26] + az[i // 26 % 26] + az[i % 26] for i in range(len(out), n)]
    return out


class Counter:
    """Subscribes channels over raw sockets (one per node, commands as
    given) and counts the messages read, without parsing them."""

    def __init__(self, groups, marker):
        self.marker, self.count, self.stop = marker, 0, False
        self.socks = []
        for port, chans in groups.items():
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"".join(harness._resp_cmd(cmd, ch) for cmd, ch in chans))
            self.socks.append(s)
        self.threads = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in self.socks]
        for t in self.threads:
            t.start()

    def _read(self, s):
        tail, m = b"", self.marker
        s.settimeout(0.2)
        while not self.stop:
            try:
                data = s.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            buf = tail + data
            self.count += buf.count(m)
            tail = buf[-(len(m) - 1):]

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join(2)
        for s in self.socks:
            s.close()


def calls(ports, cmd):
    total = 0
    for p in ports:
        st = harness.redis.Redis(port=p).info("commandstats").get(f"cmdstat_{cmd}", {})
        total += int(st.get("calls", 0))
    return total


def target(kind, tmp, chans):
    """(url, primary ports, publish command, Counter, stop function)."""
    if kind == "redis":
        r = harness.RedisServer(Path(tmp) / "redis").start()
        sub = Counter({r.port: [("SUBSCRIBE", ch) for ch in chans]}, b"$7\r\nmessage\r\n")
        return r.url, [r.port], "publish", sub, r.stop
    c = harness.RedisCluster(Path(tmp) / "cluster", primaries=3, replicas=0).start()
    groups = {}
    for ch in chans:
        groups.setdefault(c.owner(ch), []).append(("SSUBSCRIBE", ch))
    sub = Counter(groups, b"$8\r\nsmessage\r\n")
    return c.url, [n.port for n in c.nodes], "spublish", sub, c.stop


def measure(args, kind, tmp):
    kinds = ("trades", "quotes", "corrections", "cancelErrors")  # what trades=*;quotes=* carry
    chans = [f"{k}.{s}" for k in kinds for s in symbols(500)]
    url, ports, cmd, sub, stop = target(kind, tmp, chans)
    try:
        with Procs(args.tickerd, tmp) as procs:
            sport = procs.sim(args.rate)
            run = procs.run(sport, "--subscribe", "trades=*;quotes=*", "--redis", url,
                            "--stats-interval", "5")
            time.sleep(args.warmup)
            t0, p0, d0, c0 = time.monotonic(), calls(ports, cmd), sub.count, proc_ticks(run.pid)
            time.sleep(args.seconds)
            t1, p1, d1, c1 = time.monotonic(), calls(ports, cmd), sub.count, proc_ticks(run.pid)
            procs.check(run, p1 > p0)
            n = p1 - p0
            return {"target": kind, "primaries": len(ports), "window_s": round(t1 - t0, 2),
                    "published_per_s": round(n / (t1 - t0)),
                    "delivered_per_published": round((d1 - d0) / n, 4),
                    "cpu_us_per_event": round((c1 - c0) / CLK_TCK * 1e6 / n, 3)}
    finally:
        sub.close()
        stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tickerd")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rate", type=int, default=60000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    res = []
    for _ in range(args.rounds):
        for kind in ("redis", "cluster"):
            with tempfile.TemporaryDirectory(prefix="cluster_cost") as tmp:
                res.append(measure(args, kind, tmp))
                print(json.dumps(res[-1]), flush=True)
    summary = {k: sorted(r["cpu_us_per_event"] for r in res if r["target"] == k)
               for k in ("redis", "cluster")}
    print(json.dumps({"cpu_us_per_event": summary}))


if __name__ == "__main__":
    main()
