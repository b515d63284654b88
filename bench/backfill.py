#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Backfill benchmark (issue 6), one run, everything on loopback:

  * `tickerd sim` with --hist-latency (default 150 ms per history answer);
  * a throwaway PostgreSQL cluster (runuser postgres initdb/pg_ctl, fsync off,
    as tests/integration/harness.py, whose PostgresServer it uses);
  * `tickerd backfill --store postgres://... --rate 0 --concurrency N` for each
    N of --concurrency (default 32,214), and with Alpaca's multi-symbol endpoint
    (--symbols-per-request 10 --limit 10000 --concurrency 32: 22 requests),
    --repeat times (default 5), one fresh
    database each; its --json summary gives the store stage's own time;
  * bench/backfill_baseline.py --mode reference (the reference script's shape:
    asyncpg pool of 10, a task per symbol holding a connection while it
    fetches with its own aiohttp session, a COPY per symbol) and --mode async
    (a stronger variant: one session, everything in flight, one COPY), fresh
    databases, --repeat times each;
  * the same in sync mode (urllib, one request at a time) on --sync-symbols
    symbols (default 20), extrapolated linearly to all symbols;
  * the COPY stage's ceiling: tickerd's rows dumped with \\copy ... (FORMAT
    binary), then bench_pgcopy (a raw libpq COPY of that file in one
    transaction into a fresh table of the same schema), --repeat times;
  * bounded memory: 100 then 400 symbols of 5,761 1Min bars into SQLite,
    tickerd's peak RSS for each;
  * the grid of the reference design: 11 exchanges x 3 symbols x 31 days =
    1,023 GETs with --grid-concurrency 32 and --grid-latency 100 ms, against
    the lower bound ceil(1023 / 32) x 100 ms (--no-grid skips it).

Then SELECT count(*) FROM bars in every database, and a summary (medians).

  bench/backfill.py [--build build/release] [--symbols 214] [--start 2024-01-01]
                    [--end 2024-01-11] [--latency 150] [--concurrency 32,214]
                    [--sync-symbols 20] [--repeat 5] [--multi 10] [--grid-latency 100]
                    [--grid-concurrency 32] [--no-grid]

Symbols are the sim's synthetic names XAAA, XAAB, ... (any valid symbol has
bars). Bars are 24 h a day; 15Min from 2024-01-01 to 2024-01-11 00:00 (the
sim's end is inclusive at midnight) = 961 bars per symbol, one page of limit
1000.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"
sys.path.insert(0, str(ROOT / "tests/integration"))
import harness  # noqa: E402  (the PostgreSQL cluster and free_port of the tests)

free_port = harness.free_port


class Postgres(harness.PostgresServer):
    """The integration tests' throwaway cluster (fsync off), plus psql for
    the dumps and counts."""

    def psql(self, db, sql, timeout=300):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                            self.db_url(db),
                            "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r.stdout.strip()

    def count(self, db):
        return int(self.psql(db, "SELECT count(*) FROM bars"))


def synth(i):
    return "X" + chr(65 + i // 676 % 26) + chr(65 + i // 26 % 26) + chr(65 + i % 26)


def wait_http(url, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={
                "APCA-API-KEY-ID": "b", "APCA-API-SECRET-KEY": "b"}), timeout=2).read()
            return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"backfill bench: sim not answering at {url}")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def start_sim(tickerd, args, latency, out, name):
    port = free_port()
    sim = subprocess.Popen([str(tickerd), "sim", "--listen", f"127.0.0.1:{port}",
                            "--hist-latency", str(latency), "--symbols", str(args.symbols),
                            "--log-level", "warn"],
                           stdout=subprocess.DEVNULL, stderr=open(out / f"{name}.log", "w"))
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/v2/stocks/XAAA/bars?timeframe=15Min&start={args.start}"
              f"&end={args.start}&limit=1")
    return sim, url


def run_tickerd(tickerd, pg, db, argv, out, tag):
    """One `tickerd backfill` run into a fresh database: wall, rows, store figures."""
    dsn = pg.create_database(db)
    pg.psql("postgres", "CHECKPOINT")
    env = dict(os.environ, APCA_API_KEY_ID="bench", APCA_API_SECRET_KEY="bench")
    t0 = time.monotonic()
    r = subprocess.run([str(tickerd), "backfill", *argv, "--store", dsn, "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600,
                       env=env)
    wall = time.monotonic() - t0
    (out / f"backfill_{tag}.json").write_text(r.stdout)
    (out / f"backfill_{tag}.err").write_text(r.stderr)
    j = json.loads(r.stdout) if r.stdout.strip() else {}
    return {"wall_s": round(wall, 3), "exit": r.returncode, "db": db,
            "rows": pg.count(db) if "cells" not in j else None,
            "requests": j.get("requests"), "store": j.get("store", {})}


def summarize(runs, key="wall_s"):
    return {"runs": runs, "median_" + key: median(r[key] for r in runs),
            "best_" + key: min(r[key] for r in runs)}


def bench_bars(tickerd, pg, args, res, out):
    """Rounds of every contender in turn (interleaved, so a slow spell of the
    machine or of PostgreSQL hits all alike), each after a CHECKPOINT (no
    dirty buffers left by the previous one) into a fresh database."""
    sim, url = start_sim(tickerd, args, args.latency, out, "backfill_sim")
    syms = [synth(i) for i in range(args.symbols)]
    configs = [(f"--concurrency {c}", ["--concurrency", str(c)])
               for c in [int(x) for x in args.concurrency.split(",") if x]]
    if args.multi > 1:
        configs.append((f"multi-symbol x{args.multi}",
                        ["--symbols-per-request", str(args.multi), "--limit", "10000",
                         "--concurrency", "32"]))

    def baseline(mode, db, symbols):
        dsn = pg.create_database(db)
        pg.psql("postgres", "CHECKPOINT")
        r = subprocess.run([PY, str(ROOT / "bench/backfill_baseline.py"), "--mode", mode,
                            "--url", url, "--dsn", dsn, "--symbols", ",".join(symbols),
                            # tickerd's --end DAY is through that day: the same bars
                            "--start", args.start, "--end", f"{args.end}T23:59:59Z"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=600)
        if r.returncode:
            raise RuntimeError(f"baseline {mode}: {r.stderr}")
        j = json.loads(r.stdout.strip().splitlines()[-1])
        j["db_rows"] = pg.count(db)
        j["db"] = db
        return j

    try:
        td = {label: [] for label, _ in configs}
        py = {"reference": [], "async": []}
        raw, dump = [], pg.base / "bars.bin"
        pg.create_database("raw_copy")
        for k in range(args.repeat):
            for n, (label, extra) in enumerate(configs):
                td[label].append(run_tickerd(tickerd, pg, f"td_{n}_{k}", [
                    "--vendor", "alpaca", "--url", url, "--symbols", ",".join(syms),
                    "--start", args.start, "--end", args.end, "--timeframe", "15Min",
                    "--rate", "0", *extra], out, f"tickerd_{n}_{k}"))
                print(f"tickerd {label} #{k}: {td[label][-1]}", flush=True)
            for mode in py:
                py[mode].append(baseline(mode, f"py_{mode}_{k}", syms))
                print(f"python {mode} #{k}: {py[mode][-1]}", flush=True)
            # a raw libpq COPY (binary) of the same rows: the COPY stage's ceiling
            if k == 0:
                pg.psql(td[configs[0][0]][0]["db"],
                        f"\\copy (SELECT * FROM bars) TO '{dump}' (FORMAT binary)")
            pg.psql("postgres", "CHECKPOINT")
            r = subprocess.run([str(Path(args.build) / "bench_pgcopy"), pg.db_url("raw_copy"),
                                str(dump), f"raw{k}"], stdout=subprocess.PIPE, text=True,
                               timeout=300, check=True)
            raw.append(json.loads(r.stdout))
            print(f"raw copy #{k}: {raw[-1]}", flush=True)
        res["tickerd"] = {label: summarize(runs) for label, runs in td.items()}
        res["reference"] = summarize(py["reference"])
        res["asyncio"] = summarize(py["async"])
        rs = summarize(raw, "seconds")
        res["raw_copy"] = {"runs": raw, "best_s": rs["best_seconds"],
                           "median_s": rs["median_seconds"]}

        n = min(args.sync_symbols, len(syms))
        sy = baseline("sync", "py_sync", syms[:n])
        sy["extrapolated_wall_s"] = round(sy["wall_s"] * len(syms) / n, 3)
        sy["extrapolated_rows"] = sy["rows"] * len(syms) // n
        res["sync"] = sy
        print(f"sync ({n} symbols): {sy}", flush=True)

        first = td[configs[0][0]][0]["db"]
        digest = ("SELECT md5(string_agg(symbol||ts||open||close||volume, ','"
                  " ORDER BY symbol, ts)) FROM bars")
        res["same_content_tickerd_vs_asyncio"] = (pg.psql(first, digest) ==
                                                  pg.psql("py_reference_0", digest))
    finally:
        sim.terminate()
        sim.wait(5)


def bench_grid(tickerd, pg, args, res, out):
    """The reference grid: 11 exchanges x 3 symbols x 31 days = 1,023 GETs."""
    sim, url = start_sim(tickerd, args, args.grid_latency, out, "backfill_grid_sim")
    try:
        exf = pg.base / "exchanges.txt"
        with urllib.request.urlopen(f"{url}/exchanges", timeout=5) as r:
            exchanges = json.loads(r.read())
        exf.write_text("\n".join(exchanges) + "\n")
        tpl = f"{url}/price/{{exchange}}/{{symbol}}/{{date}}"
        runs = []
        for k in range(args.repeat):
            runs.append(run_tickerd(tickerd, pg, f"grid_{k}", [
                "--url", tpl, "--param", f"exchange=@{exf}", "--param", "symbol=btc,eth,ltc",
                "--param", "date=2020-03-01..2020-03-31", "--concurrency",
                str(args.grid_concurrency), "--rate", "0"], out, f"grid_{k}"))
            print(f"grid #{k}: {runs[-1]}", flush=True)
        cells = len(exchanges) * 3 * 31
        bound = -(-cells // args.grid_concurrency) * args.grid_latency / 1000
        res["grid"] = {"cells": cells, "concurrency": args.grid_concurrency,
                       "latency_ms": args.grid_latency, "lower_bound_s": round(bound, 3),
                       "runs": runs, "median_wall_s": median(r["wall_s"] for r in runs),
                       "best_wall_s": min(r["wall_s"] for r in runs)}
    finally:
        sim.terminate()
        sim.wait(5)


# Runs argv and prints its peak RSS: the wrapper's only child is tickerd.
MAXRSS = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
          "print('maxrss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
          "file=sys.stderr); sys.exit(rc)")


def bench_memory(tickerd, args, res, out):
    """Bounded memory: the same job shape (1Min bars, 2024-01-01..05, 5,761
    per symbol, one page of 10,000) for 100 and then 400 symbols into SQLite;
    tickerd's peak RSS (getrusage of its parent) should not grow with the job."""
    sim, url = start_sim(tickerd, argparse.Namespace(**{**vars(args), "symbols": 400}), 0, out,
                         "backfill_mem_sim")
    res["memory"] = []
    try:
        for n in (100, 400):
            db = Path(tempfile.mkdtemp(prefix="td-bfmem-")) / "m.db"
            env = dict(os.environ, APCA_API_KEY_ID="bench", APCA_API_SECRET_KEY="bench")
            r = subprocess.run([PY, "-c", MAXRSS, str(tickerd), "backfill",
                                "--url", url, "--symbols", ",".join(synth(i) for i in range(n)),
                                "--start", "2024-01-01", "--end", "2024-01-05",
                                "--timeframe", "1Min", "--limit", "10000", "--rate", "0",
                                "--concurrency", "16", "--store", f"sqlite:{db}", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=300, env=env)
            kb = int(r.stderr.rsplit("maxrss_kb", 1)[1].split()[0])
            rows = json.loads(r.stdout)["rows"]
            res["memory"].append({"symbols": n, "rows": rows, "maxrss_kb": kb})
            print(f"memory: {n} symbols, {rows} rows: max RSS {kb} kB", flush=True)
            shutil.rmtree(db.parent, ignore_errors=True)
    finally:
        sim.terminate()
        sim.wait(5)


def report(args, res):
    rw = res["reference"]["median_wall_s"]
    aw = res["asyncio"]["median_wall_s"]
    raw = res["raw_copy"]["median_s"]
    print("\n== backfill: %d symbols x 15Min %s..%s, sim latency %d ms, %d cores, "
          "medians of %d ==" % (args.symbols, args.start, args.end, args.latency,
                                os.cpu_count(), args.repeat))
    print(f"{'run':30} {'wall s':>7} {'best':>6} {'rows':>8} {'vs ref.':>7} {'vs gather':>9}"
          "  store stage")
    for c, t in res["tickerd"].items():
        r0 = t["runs"][0]
        st = [r["store"] for r in t["runs"]]
        busy = median(x.get("active_s", 0) for x in st)
        txs = median(x.get("transactions", 0) for x in st)
        print(f"{'tickerd ' + c:30} {t['median_wall_s']:7.2f} "
              f"{t['best_wall_s']:6.2f} {r0['rows']:8d} {rw / t['median_wall_s']:6.1f}x "
              f"{aw / t['median_wall_s']:8.1f}x  "
              f"writing {busy:.3f} s, {txs} transactions = {raw / busy if busy else 0:.2f}x "
              f"raw COPY speed")
    print(f"{'python reference (pool of 10)':30} {rw:7.2f} {res['reference']['best_wall_s']:6.2f} "
          f"{res['reference']['runs'][0]['db_rows']:8d} {1.0:6.1f}x {aw / rw:8.1f}x")
    print(f"{'python gather + one COPY':30} {aw:7.2f} {res['asyncio']['best_wall_s']:6.2f} "
          f"{res['asyncio']['runs'][0]['db_rows']:8d} {rw / aw:6.1f}x {1.0:8.1f}x  "
          f"(fetch {res['asyncio']['runs'][0]['fetch_s']} s, COPY "
          f"{res['asyncio']['runs'][0]['copy_s']} s)")
    s = res["sync"]
    print(f"{'python sync (' + str(s['symbols']) + ' sym)':30} {s['wall_s']:7.2f} {'':6} "
          f"{s['db_rows']:8d}")
    print(f"{'  extrapolated to all':30} {s['extrapolated_wall_s']:7.2f} {'':6} "
          f"{s['extrapolated_rows']:8d} {rw / s['extrapolated_wall_s']:6.2f}x "
          f"{aw / s['extrapolated_wall_s']:8.2f}x")
    print(f"{'raw libpq COPY (binary)':30} {raw:7.3f} {res['raw_copy']['best_s']:6.3f} "
          f"{res['raw_copy']['runs'][0]['rows']:8d}")
    print(f"same content tickerd vs python reference: "
          f"{res['same_content_tickerd_vs_asyncio']}")
    for m in res.get("memory", []):
        print(f"memory: {m['symbols']} symbols, {m['rows']} rows into SQLite: tickerd max RSS "
              f"{m['maxrss_kb'] / 1024:.1f} MiB")
    g = res.get("grid")
    if g:
        print(f"grid: {g['cells']} requests, concurrency {g['concurrency']}, "
              f"{g['latency_ms']} ms latency: median {g['median_wall_s']:.2f} s (best "
              f"{g['best_wall_s']:.2f}) vs lower bound {g['lower_bound_s']:.2f} s = "
              f"{g['median_wall_s'] / g['lower_bound_s']:.2f}x the bound")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build/release"))
    ap.add_argument("--symbols", type=int, default=214)
    ap.add_argument("--start", default="2024-01-01")
    ap.add_argument("--end", default="2024-01-11")
    ap.add_argument("--latency", type=int, default=150)
    ap.add_argument("--concurrency", default="32,214")
    ap.add_argument("--sync-symbols", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--multi", type=int, default=10,
                    help="also run --symbols-per-request N --limit 10000 (0: no)")
    ap.add_argument("--grid-latency", type=int, default=100)
    ap.add_argument("--grid-concurrency", type=int, default=32)
    ap.add_argument("--no-grid", action="store_true")
    ap.add_argument("--out", default=os.environ.get("BENCH_OUT", str(ROOT / "bench/out")))
    args = ap.parse_args()

    tickerd = Path(args.build) / "tickerd"
    for b in (tickerd, Path(args.build) / "bench_pgcopy"):
        if not b.exists():
            sys.exit(f"backfill bench: {b} missing (build the release preset)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = {"scenario": {"symbols": args.symbols, "start": args.start, "end": args.end,
                        "timeframe": "15Min", "latency_ms": args.latency,
                        "cores": os.cpu_count(), "repeat": args.repeat}}
    pg = Postgres()
    try:
        pg.start()
        bench_bars(tickerd, pg, args, res, out)
        if not args.no_grid:
            bench_grid(tickerd, pg, args, res, out)
        bench_memory(tickerd, args, res, out)
    finally:
        pg.stop()
    report(args, res)
    (out / "backfill.json").write_text(json.dumps(res, indent=1))
    print(f"raw results: {out / 'backfill.json'}")


if __name__ == "__main__":
    main()
