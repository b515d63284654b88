#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bytes on the wire and tickerd CPU per event delivered to gateway clients,
with and without --permessage-deflate: tickerd sim --rate RATE --symbols
500, tickerd run --listen, CLIENTS python-websockets clients subscribed to
trades=* and quotes=* (offering permessage-deflate), all on 127.0.0.1.

    /usr/bin/python3 bench/deflate_cost.py TICKERD [--seconds 10] [--rate 10000]
                                           [--clients 2]

Bytes = TCP bytes the clients acknowledged on the gateway's port (ss -ti
bytes_acked: frames with their WebSocket framing); CPU = utime+stime
(/proc/PID/stat); events = the sum of tickerd_events_out_total (/metrics);
all over the same window after a warm-up. Prints one JSON line per mode; every wait is bounded.
"""
import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import urllib.request

from benchlib import CLK_TCK, Procs, harness, proc_ticks

import websockets  # noqa: E402


def sample(pid, port):
    ss = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                        capture_output=True, text=True, timeout=10).stdout
    wchar = sum(int(v) for v in re.findall(r"bytes_acked:(\d+)", ss))
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    events = sum(int(v) for v in re.findall(r"^tickerd_events_out_total\{[^}]*\} (\d+)$", body,
                                             re.M))
    return proc_ticks(pid) / CLK_TCK, wchar, events


async def client(url, stop):
    async with websockets.connect(url, compression="deflate", max_size=None,
                                  ping_interval=None, open_timeout=5) as ws:
        await ws.recv()
        await ws.send(json.dumps({"action": "auth", "key": "demo", "secret": "demo"}))
        await ws.recv()
        await ws.send(json.dumps({"action": "subscribe", "trades": ["*"], "quotes": ["*"]}))
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                pass


async def drive(url, args, pid, port):
    stop = asyncio.Event()
    tasks = [asyncio.create_task(client(url, stop)) for _ in range(args.clients)]
    await asyncio.sleep(args.warmup)
    a = sample(pid, port)
    await asyncio.sleep(args.seconds)
    b = sample(pid, port)
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    return [y - x for x, y in zip(a, b)]


def measure(args, tmp, deflate):
    with Procs(args.tickerd, tmp) as procs:
        try:
            sport, gport = procs.sim(args.rate), harness.free_port()
            run = procs.run(sport, "--listen", f"127.0.0.1:{gport}", "--client", "demo:demo",
                            "--stats-interval", "60",
                            *(["--permessage-deflate"] if deflate else []), listen_port=gport)
            cpu, wbytes, events = asyncio.run(asyncio.wait_for(
                drive(f"ws://127.0.0.1:{gport}/v2/iex", args, run.pid, gport),
                args.seconds + args.warmup + 30))
        except Exception:
            print(procs.run_err(3000), file=sys.stderr)
            raise
        return {"permessage_deflate": deflate, "clients": args.clients, "seconds": args.seconds,
                "events_delivered": events, "bytes_per_event": round(wbytes / max(events, 1), 1),
                "cpu_us_per_event": round(cpu * 1e6 / max(events, 1), 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tickerd")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="deflate_cost.") as tmp:
        for deflate in (False, True):
            print(json.dumps(measure(args, tmp, deflate)), flush=True)


if __name__ == "__main__":
    main()
