# SPDX-License-Identifier: Apache-2.0
"""`tickerd backfill`: what the summary says against what the store holds,
and what a day means. The summary's rows are the bars the store committed
as new, so they equal count(*) in `bars` after a normal run, a vendor that
loops on a page token, a store that fails mid-run (PostgreSQL crashed with
pg_ctl -m immediate; SQLite past a file-size limit, as a full disk) and a
Ctrl-C. `--end DAY` is through the end of that UTC day for every vendor;
bad dates and timeframes are refused before any request; a rerun with
nothing left makes no request."""

import json
import os
import resource
import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import harness

ENV = {"APCA_API_KEY_ID": "K", "APCA_API_SECRET_KEY": "S", "POLYGON_API_KEY": "K"}
DAY = "2022-04-11"
SYMS = ["AAPL", "MSFT", "TSLA", "NVDA", "AMZN", "META", "GOOG", "NFLX", "AMD", "INTC", "IBM",
        "ORCL", "CSCO", "ADBE", "QCOM", "TXN"]


def calls(path):
    return [json.loads(x) for x in Path(path).read_text().splitlines()] if Path(path).exists() \
        else []


def run_backfill(tickerd, sim, *args, timeout=30, start=DAY, end=DAY):
    argv = ["--url", f"http://127.0.0.1:{sim.port}", "--start", start, "--end", end,
            "--rate", "0", "--json", *args]
    p = tickerd.start("backfill", *argv, env=ENV)
    p.popen.wait(timeout)
    out = p.stdout().decode()
    return p.returncode, (json.loads(out) if out.strip() else None), p.stderr().decode()


def sqlite_count(path, sql="SELECT count(*) FROM bars"):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def pg_count(url, sql="SELECT count(*) FROM bars"):
    import psycopg2
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        conn.close()


# --- what a day means ---------------------------------------------------------

def test_the_same_day_gives_the_same_bars_from_alpaca_and_polygon(tickerd, tmp_path):
    sim = tickerd.sim()
    got = {}
    for vendor, tf in (("alpaca", "15Min"), ("polygon", "15/minute")):
        db = tmp_path / f"{vendor}.db"
        rc, s, err = run_backfill(tickerd, sim, "--vendor", vendor, "--symbols", "AAPL",
                                  "--timeframe", tf, "--limit", "40", "--store", f"sqlite:{db}")
        assert rc == 0, err
        got[vendor] = [ts for (ts,) in sqlite3.connect(db).execute(
            "SELECT ts FROM bars ORDER BY ts")]
        assert s["rows"] == len(got[vendor])
    day0 = int(datetime(2022, 4, 11, tzinfo=timezone.utc).timestamp()) * 10**9
    want = [day0 + i * 900 * 10**9 for i in range(96)]  # 00:00 .. 23:45, and nothing after
    assert got["alpaca"] == got["polygon"] == want
    # an exact RFC 3339 end is inclusive, to the second, for both
    for vendor, tf in (("alpaca", "15Min"), ("polygon", "15/minute")):
        db = tmp_path / f"{vendor}-exact.db"
        rc, s, err = run_backfill(tickerd, sim, "--vendor", vendor, "--symbols", "AAPL",
                                  "--timeframe", tf, "--store", f"sqlite:{db}",
                                  start="2022-04-11T10:00:00Z", end="2022-04-11T11:00:00Z")
        assert rc == 0 and s["rows"] == 5 == sqlite_count(db), (vendor, err)


def test_bad_dates_and_timeframes_exit_2_before_any_request(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(record_calls=rec)
    cases = [
        (["--start", "2022-4-1", "--end", DAY], "bad --start '2022-4-1': expected a day"),
        (["--start", DAY, "--end", "2022-04-31"], "bad --end '2022-04-31'"),
        (["--start", "yesterday", "--end", DAY], "bad --start 'yesterday'"),
        (["--start", DAY, "--end", DAY, "--vendor", "polygon", "--timeframe", "15Min"],
         "--timeframe 15Min: Polygon's form is MULT/TIMESPAN, e.g. 15/minute (for 15Min: "
         "15/minute)"),
        (["--start", DAY, "--end", DAY, "--timeframe", "15/minute"],
         "--timeframe 15/minute: Alpaca's form is e.g. 15Min (for 15/minute: 15Min)"),
        (["--start", DAY, "--end", DAY, "--timeframe", "60Min"], "--timeframe 60Min"),
    ]
    for args, msg in cases:
        p = tickerd.start("backfill", "--url", f"http://127.0.0.1:{sim.port}", "--symbols",
                          "AAPL", "--store", f"sqlite:{tmp_path / 'u.db'}", *args, env=ENV)
        p.popen.wait(10)
        err = p.stderr().decode()
        assert p.returncode == 2 and msg in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err  # one clear line
    assert calls(rec) == []  # nothing was asked of the vendor


# --- the summary's rows are what the store holds ---------------------------------

def test_normal_run_and_rerun_without_a_request(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(record_calls=rec)
    db = tmp_path / "n.db"
    args = ["--symbols", "AAPL,MSFT,TSLA", "--limit", "30", "--store", f"sqlite:{db}"]
    rc, s, err = run_backfill(tickerd, sim, *args)
    assert rc == 0, err
    assert s["rows"] == sqlite_count(db) == s["store"]["inserted"] == 3 * 96
    assert s["duplicate_rows"] == 0 and f"{3 * 96} rows inserted" in err
    first = len(calls(rec))
    assert first == s["requests"] == 3 * 4
    # nothing left to fetch: no request at all
    rc, s, err = run_backfill(tickerd, sim, *args)
    assert rc == 0 and s["requests"] == 0 and len(calls(rec)) == first, err
    assert s["complete_before"] == 3 and s["rows"] == 0 and s["skipped_rows"] == 3 * 96
    assert "3 jobs were complete already (no request)" in err
    # an end less than an hour ago is not complete: the vendor may have more bars later
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    for _ in range(2):
        rc, s, err = run_backfill(tickerd, sim, "--symbols", "AAPL", "--store", f"sqlite:{db}",
                                  start=today, end=today)
        assert rc == 0 and s["requests"] >= 1 and s["complete_before"] == 0, err


@pytest.mark.parametrize("vendor", ["alpaca", "polygon"])
def test_a_vendor_repeating_a_page_token_fails_the_job(tickerd, tmp_path, vendor):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(hist_repeat_token=True, record_calls=rec)
    db = tmp_path / "l.db"
    tf = "15Min" if vendor == "alpaca" else "15/minute"
    t0 = time.monotonic()
    rc, s, err = run_backfill(tickerd, sim, "--vendor", vendor, "--symbols", "AAPL,MSFT",
                              "--timeframe", tf, "--limit", "10", "--store", f"sqlite:{db}",
                              timeout=20)
    assert rc == 1 and time.monotonic() - t0 < 15, err
    assert s["failed"] == 2 and s["done"] == 0
    for r in s["results"]:
        assert "a second time (a loop)" in r["error"], r
    # a page or two per job, never a loop of requests
    assert s["requests"] == len(calls(rec)) <= 2 * 3
    assert s["rows"] == sqlite_count(db) > 0
    if vendor == "polygon":  # its loop serves the first page again: counted once
        assert s["duplicate_rows"] == 2 * 10


class CrashablePostgres(harness.PostgresServer):
    """A PostgreSQL of its own, for a test that crashes it."""

    def crash(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self):
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "30",
                  "-o", opts, "start")


def wait_rows(count, at_least, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if count() >= at_least:
                return
        except Exception:  # not created yet, or locked
            pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows in time" + proc.describe())


def test_postgres_crashed_mid_run(tickerd, tmp_path):
    pg = CrashablePostgres().start()
    try:
        sim = tickerd.sim(hist_latency=60)
        p = tickerd.start("backfill", "--url", f"http://127.0.0.1:{sim.port}", "--start", DAY,
                          "--end", DAY, "--rate", "0", "--json", "--symbols", ",".join(SYMS),
                          "--limit", "8", "--concurrency", "4", "--store", pg.url, env=ENV)
        wait_rows(lambda: pg_count(pg.url), 100, p)
        pg.crash()
        p.popen.wait(30)
        s, err = json.loads(p.stdout()), p.stderr().decode()
        assert p.returncode == 2, err
        assert "stopped by a store error: postgres" in err and "rerun the same command" in err
        assert s["stopped"] == "store" and s["failed"] == 0
        assert s["interrupted"] + s["not_started"] + s["done"] == len(SYMS)
        pg.restart()
        assert s["rows"] == pg_count(pg.url) > 0
        # the same command resumes and completes
        p2 = tickerd.start("backfill", "--url", f"http://127.0.0.1:{sim.port}", "--start", DAY,
                           "--end", DAY, "--rate", "0", "--json", "--symbols", ",".join(SYMS),
                           "--limit", "8", "--concurrency", "4", "--store", pg.url, env=ENV)
        p2.popen.wait(60)
        s2 = json.loads(p2.stdout())
        assert p2.returncode == 0 and s["rows"] + s2["rows"] == pg_count(pg.url) == 96 * len(SYMS)
    finally:
        pg.stop()


def test_sqlite_full_mid_run(tickerd_bin, tickerd, tmp_path):
    """No file of the database may grow past 256 KiB (RLIMIT_FSIZE, as a full
    disk): the write that hits it fails, the run stops with exit 2, and the
    summary counts exactly what was committed before."""
    sim = tickerd.sim(hist_latency=20)
    db = tmp_path / "full.db"
    argv = [str(tickerd_bin), "backfill", "--url", f"http://127.0.0.1:{sim.port}", "--start",
            DAY, "--end", DAY, "--rate", "0", "--json", "--symbols", ",".join(SYMS), "--limit",
            "8", "--concurrency", "4", "--store", f"sqlite:{db}"]

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    env = dict(os.environ, **harness.SANITIZER_ENV, **ENV)
    p = subprocess.run(argv, env=env, preexec_fn=limit, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    for m in harness.SANITIZER_MARKERS:
        assert m not in p.stderr, err
    assert p.returncode == 2, err
    s = json.loads(p.stdout)
    assert "stopped by a store error: sqlite" in err and s["stopped"] == "store", err
    assert s["failed"] == 0 and s["done"] < len(SYMS)
    assert 0 < s["rows"] == sqlite_count(db) < 96 * len(SYMS)


def test_ctrl_c_prints_one_summary_and_the_rerun_resumes(tickerd, tmp_path):
    sim = tickerd.sim(hist_latency=100)
    db = tmp_path / "c.db"
    syms = [f"S{i:03d}" for i in range(60)]
    args = ["--url", f"http://127.0.0.1:{sim.port}", "--start", DAY, "--end", DAY, "--rate",
            "0", "--json", "--symbols", ",".join(syms), "--limit", "24", "--concurrency", "2",
            "--store", f"sqlite:{db}"]
    p = tickerd.start("backfill", *args, env=ENV)
    wait_rows(lambda: sqlite_count(db), 24, p)
    p.signal(signal.SIGINT)
    p.popen.wait(20)
    s, err = json.loads(p.stdout()), p.stderr().decode()
    assert p.returncode == 130, err
    assert s["stopped"] == "signal" and s["failed"] == 0
    assert s["not_started"] > 40 and s["interrupted"] <= 6
    assert s["done"] + s["interrupted"] + s["not_started"] == 60
    line = (f"backfill: interrupted by a signal: {s['interrupted']} interrupted, "
            f"{s['not_started']} not started; rerun the same command to resume")
    assert err.count(line) == 1, err
    assert "failed:" not in err, err  # no line per job
    assert s["rows"] == sqlite_count(db)
    p2 = tickerd.start("backfill", *args, env=ENV)
    p2.popen.wait(60)
    s2 = json.loads(p2.stdout())
    assert p2.returncode == 0 and s2["complete_before"] == s["done"]
    assert sqlite_count(db) == 96 * 60 == s["rows"] + s2["rows"]


def test_the_demo_backfill_includes_today(tickerd_bin, tmp_path):
    """scripts/run-demo.sh's backfill ("the last 5 days") reaches the bar
    under way now, not today's midnight."""
    repo = Path(__file__).resolve().parents[2]
    db = tmp_path / "demo.db"
    env = dict(os.environ, **harness.SANITIZER_ENV, DEMO_DB=str(db),
               SIM_PORT=str(harness.free_port()), GW_PORT=str(harness.free_port()))
    err = tmp_path / "demo.err"
    with open(err, "wb") as ef:
        p = subprocess.Popen(["scripts/run-demo.sh", str(tickerd_bin)], cwd=repo, env=env,
                             stdout=subprocess.DEVNULL, stderr=ef, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"quote board at" not in err.read_bytes():
            assert p.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
    finally:
        try:
            os.killpg(p.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
            raise AssertionError("the demo did not stop within 20 s of Ctrl-C:\n" + err.read_text())
    now = datetime.now(timezone.utc)
    latest = sqlite_count(db, "SELECT max(ts) FROM bars") / 1e9
    assert now.timestamp() - latest < 15 * 60 + 60, (latest, now)  # the bar under way now
    earliest = sqlite_count(db, "SELECT min(ts) FROM bars") / 1e9
    first_day = (now - timedelta(days=4)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert earliest == first_day.timestamp()  # today and the 4 days before it
    assert sqlite_count(db, "SELECT count(DISTINCT symbol) FROM bars") == 5
