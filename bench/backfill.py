#!/usr/bin/env python3
"""Backfill benchmark (issue 6), one run, everything on loopback:

  * `tickerd sim` with --hist-latency (default 150 ms per history answer);
  * a throwaway PostgreSQL cluster (runuser postgres initdb/pg_ctl, fsync off,
    as tests/integration/harness.py);
  * `tickerd backfill --store postgres://... --rate 0 --concurrency N` for each
    N of --concurrency (default 32,64), one fresh database each;
  * bench/backfill_baseline.py --mode async (aiohttp + asyncio.gather over all
    symbols, then asyncpg copy_records_to_table), fresh database;
  * the same in sync mode (urllib, one request at a time) on --sync-symbols
    symbols (default 20), extrapolated linearly to all symbols;
  * a raw COPY: the tickerd rows exported to CSV, then timed
    `psql -c "\\copy bars FROM file CSV"` into a fresh table of the same schema.

Then SELECT count(*) FROM bars in every database, and a summary.

  bench/backfill.py [--build build/release] [--symbols 214] [--start 2024-01-01]
                    [--end 2024-01-11] [--latency 150] [--concurrency 32,64]
                    [--sync-symbols 20]

Symbols are the sim's synthetic names XAAA, XAAB, ... (any valid symbol has
bars). Bars are 24 h a day, so 15Min over 11 days = 1,056 bars per symbol,
two pages of limit 1000.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pg_bindir():
    found = {p.parts[-3]: p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")}
    dirs = [found[v] for v in sorted(found, key=lambda v: (v != "15", v))]
    if not dirs:
        sys.exit("backfill bench: PostgreSQL server binaries not found")
    return dirs[0]


class Postgres:
    def __init__(self):
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="td-bfpg-"))
        self.data = self.base / "data"
        self.bindir = pg_bindir()
        self.started = False

    def _run(self, *argv, timeout=60):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + [str(self.bindir / argv[0]), *argv[1:]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=True)

    def start(self):
        self.base.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "pg.log"), "-w",
                  "-t", "30", "-o", opts, "start")
        self.started = True
        return self

    def url(self, db):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, db, sql, timeout=300):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url(db),
                            "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")
        return r.stdout.strip()

    def create_db(self, name):
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def count(self, db):
        return int(self.psql(db, "SELECT count(*) FROM bars"))

    def stop(self):
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build/release"))
    ap.add_argument("--symbols", type=int, default=214)
    ap.add_argument("--start", default="2024-01-01")
    ap.add_argument("--end", default="2024-01-11")
    ap.add_argument("--latency", type=int, default=150)
    ap.add_argument("--concurrency", default="32,64")
    ap.add_argument("--sync-symbols", type=int, default=20)
    ap.add_argument("--out", default=os.environ.get("BENCH_OUT", str(ROOT / "bench/out")))
    args = ap.parse_args()

    tickerd = Path(args.build) / "tickerd"
    if not tickerd.exists():
        sys.exit(f"backfill bench: {tickerd} missing (build the release preset)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    syms = [synth(i) for i in range(args.symbols)]
    symlist = ",".join(syms)
    res = {"scenario": {"symbols": args.symbols, "start": args.start, "end": args.end,
                        "timeframe": "15Min", "latency_ms": args.latency, "cores": os.cpu_count()}}

    sport = free_port()
    sim_url = f"http://127.0.0.1:{sport}"
    sim = subprocess.Popen([str(tickerd), "sim", "--listen", f"127.0.0.1:{sport}",
                            "--hist-latency", str(args.latency), "--symbols", str(args.symbols),
                            "--log-level", "warn"],
                           stdout=subprocess.DEVNULL, stderr=open(out / "backfill_sim.log", "w"))
    pg = Postgres()
    try:
        pg.start()
        wait_http(f"{sim_url}/v2/stocks/XAAA/bars?timeframe=15Min&start={args.start}"
                  f"&end={args.start}&limit=1")

        # (1) tickerd backfill
        res["tickerd"] = {}
        for c in [int(x) for x in args.concurrency.split(",") if x]:
            db = f"td_c{c}"
            dsn = pg.create_db(db)
            cmd = [str(tickerd), "backfill", "--vendor", "alpaca", "--url", sim_url,
                   "--symbols", symlist, "--start", args.start, "--end", args.end,
                   "--timeframe", "15Min", "--store", dsn, "--concurrency", str(c),
                   "--rate", "0", "--json"]
            env = dict(os.environ, APCA_API_KEY_ID="bench", APCA_API_SECRET_KEY="bench")
            t0 = time.monotonic()
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=600, env=env)
            wall = time.monotonic() - t0
            (out / f"backfill_tickerd_c{c}.json").write_text(r.stdout)
            (out / f"backfill_tickerd_c{c}.err").write_text(r.stderr)
            res["tickerd"][c] = {"wall_s": round(wall, 3), "exit": r.returncode,
                                 "rows": pg.count(db), "db": db}
            print(f"tickerd c={c}: {res['tickerd'][c]}", flush=True)

        # (2) Python asyncio baseline
        def baseline(mode, db, symbols):
            dsn = pg.create_db(db)
            r = subprocess.run([PY, str(ROOT / "bench/backfill_baseline.py"), "--mode", mode,
                                "--url", sim_url, "--dsn", dsn, "--symbols", ",".join(symbols),
                                "--start", args.start, "--end", args.end],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=600)
            if r.returncode:
                raise RuntimeError(f"baseline {mode}: {r.stderr}")
            j = json.loads(r.stdout.strip().splitlines()[-1])
            j["db_rows"] = pg.count(db)
            j["db"] = db
            return j

        res["asyncio"] = baseline("async", "py_async", syms)
        print(f"asyncio: {res['asyncio']}", flush=True)

        # (3) synchronous baseline on a subset, extrapolated
        n = min(args.sync_symbols, len(syms))
        s = baseline("sync", "py_sync", syms[:n])
        s["extrapolated_wall_s"] = round(s["wall_s"] * len(syms) / n, 3)
        s["extrapolated_rows"] = s["rows"] * len(syms) // n
        res["sync"] = s
        print(f"sync ({n} symbols): {s}", flush=True)

        # (4) raw COPY of the same rows (from tickerd's first database)
        first = next(iter(res["tickerd"].values()))["db"]
        csv = pg.base / "bars.csv"
        pg.psql(first, f"\\copy (SELECT * FROM bars) TO '{csv}' CSV")
        pg.create_db("raw_copy")
        pg.psql("raw_copy", "CREATE TABLE bars(symbol TEXT NOT NULL, timeframe TEXT NOT NULL,"
                " ts BIGINT NOT NULL, open DOUBLE PRECISION, high DOUBLE PRECISION,"
                " low DOUBLE PRECISION, close DOUBLE PRECISION, volume DOUBLE PRECISION,"
                " trade_count BIGINT, vwap DOUBLE PRECISION, source TEXT,"
                " PRIMARY KEY (symbol, timeframe, ts))")
        t0 = time.monotonic()
        pg.psql("raw_copy", f"\\copy bars FROM '{csv}' CSV")
        res["raw_copy"] = {"wall_s": round(time.monotonic() - t0, 3),
                           "rows": pg.count("raw_copy"), "csv_bytes": csv.stat().st_size}
        print(f"raw copy: {res['raw_copy']}", flush=True)

        # identical content? compare tickerd's and asyncio's rows
        a = pg.psql(first, "SELECT md5(string_agg(symbol||ts||open||close||volume, ','"
                    " ORDER BY symbol, ts)) FROM bars")
        b = pg.psql("py_async", "SELECT md5(string_agg(symbol||ts||open||close||volume, ','"
                    " ORDER BY symbol, ts)) FROM bars")
        res["same_content_tickerd_vs_asyncio"] = a == b
    finally:
        sim.terminate()
        try:
            sim.wait(5)
        except subprocess.TimeoutExpired:
            sim.kill()
        pg.stop()

    # summary
    aw = res["asyncio"]["wall_s"]
    print("\n== backfill: %d symbols x 15Min %s..%s, sim latency %d ms, %d cores ==" % (
        args.symbols, args.start, args.end, args.latency, os.cpu_count()))
    print(f"{'run':28} {'wall s':>8} {'rows':>9} {'vs asyncio':>11}")
    for c, t in res["tickerd"].items():
        print(f"{'tickerd --concurrency ' + str(c):28} {t['wall_s']:8.2f} {t['rows']:9d} "
              f"{aw / t['wall_s']:10.1f}x")
    print(f"{'python asyncio+asyncpg':28} {aw:8.2f} {res['asyncio']['db_rows']:9d} {1.0:10.1f}x")
    s = res["sync"]
    print(f"{'python sync (' + str(s['symbols']) + ' sym)':28} {s['wall_s']:8.2f} "
          f"{s['db_rows']:9d}")
    print(f"{'  extrapolated to all':28} {s['extrapolated_wall_s']:8.2f} "
          f"{s['extrapolated_rows']:9d} {aw / s['extrapolated_wall_s']:10.2f}x")
    label = "raw psql \\copy (CSV)"
    print(f"{label:28} {res['raw_copy']['wall_s']:8.2f} "
          f"{res['raw_copy']['rows']:9d}")
    print(f"same content tickerd vs asyncio: {res['same_content_tickerd_vs_asyncio']}")
    (out / "backfill.json").write_text(json.dumps(res, indent=1))
    print(f"raw results: {out / 'backfill.json'}")


if __name__ == "__main__":
    main()
