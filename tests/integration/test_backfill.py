# SPDX-License-Identifier: Apache-2.0
"""`tickerd backfill` against `tickerd sim`'s history endpoints: Alpaca and
Polygon into SQLite and PostgreSQL, an invalid symbol, a 429 storm and a
kill -9 resume. Expected bars are fetched from the sim directly (its bars
are a pure function of seed, symbol and time)."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import datetime

import pytest

import harness

AUTH = {"APCA-API-KEY-ID": "K", "APCA-API-SECRET-KEY": "S"}
ENV = {"APCA_API_KEY_ID": "K", "APCA_API_SECRET_KEY": "S", "POLYGON_API_KEY": "K"}
START = END = "2022-04-11"  # one UTC day: 96 bars of 15 minutes from either vendor
# The sim's --record-calls times are wall-clock, its rate windows monotonic.
SLACK_NS = 5_000_000


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def ns_of(t):
    return int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()) * 10**9


def expected_alpaca(sim, sym):
    base = f"http://127.0.0.1:{sim.port}/v2/stocks/{sym}/bars?timeframe=15Min" \
           f"&start={START}&end={END}T23:59:59Z&limit=10000"
    rows, token = [], None
    while True:
        url = base + (f"&page_token={urllib.parse.quote(token)}" if token else "")
        body = get(url, AUTH)
        rows += [(sym, ns_of(b["t"]), b["o"], b["h"], b["l"], b["c"], b["v"])
                 for b in body["bars"] or []]
        token = body["next_page_token"]
        if not token:
            return sorted(rows)


def expected_polygon(sim, sym):
    url = f"http://127.0.0.1:{sim.port}/v2/aggs/ticker/{sym}/range/15/minute/{START}/{END}" \
          f"?limit=50000&apiKey=K"
    rows = []
    while url:
        body = get(url)
        rows += [(sym, b["t"] * 10**6, b["o"], b["h"], b["l"], b["c"], b["v"])
                 for b in body.get("results") or []]
        nxt = body.get("next_url")
        url = nxt + ("&" if "?" in nxt else "?") + "apiKey=K" if nxt else None
    return sorted(rows)


def checksum(rows):
    norm = sorted((r[0], int(r[1]), *(float(x) for x in r[2:])) for r in rows)
    return hashlib.sha256(repr(norm).encode()).hexdigest()


def db_rows(conn, timeframe):
    cur = conn.cursor()
    cur.execute("SELECT symbol, ts, open, high, low, close, volume FROM bars "
                "WHERE timeframe = " + ("?" if isinstance(conn, sqlite3.Connection) else "%s"),
                (timeframe,))
    return sorted(tuple(r) for r in cur.fetchall())


def backfill(tickerd, sim, *args, timeout=30):
    argv = ["--url", f"http://127.0.0.1:{sim.port}", "--start", START, "--end", END,
            "--rate", "100000/s", "--json", *args]
    p = tickerd.start("backfill", *argv, env=ENV)
    p.popen.wait(timeout)
    out = p.stdout().decode()
    summary = json.loads(out) if out.strip() else None
    return p.returncode, summary, p.stderr().decode()


def test_alpaca_sqlite(tickerd, tmp_path):
    sim = tickerd.sim(record_calls=tmp_path / "calls.jsonl")
    db = tmp_path / "a.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT,TSLA", "--limit", "25",
                          "--store", f"sqlite:{db}")
    assert rc == 0, err
    assert s["done"] == 3 and s["failed"] == 0 and "3 done, 0 failed" in err
    served = {}
    for line in (tmp_path / "calls.jsonl").read_text().splitlines():
        c = json.loads(line)
        served[c["symbols"]] = served.get(c["symbols"], 0) + c["rows"]
    got = db_rows(sqlite3.connect(db), "15Min")
    for sym in ("AAPL", "MSFT", "TSLA"):
        assert sum(1 for r in got if r[0] == sym) == served[sym] == 96
    want = sorted(r for sym in ("AAPL", "MSFT", "TSLA") for r in expected_alpaca(sim, sym))
    assert checksum(got) == checksum(want)
    assert s["rows"] == len(want)


def test_keep_alive_reuses_connections(tickerd, tmp_path):
    """40-odd pages over --concurrency 2: two connections, reused (the sim
    records each call's socket)."""
    sim = tickerd.sim(record_calls=tmp_path / "calls.jsonl")
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT", "--limit", "5",
                          "--concurrency", "2", "--store", f"sqlite:{tmp_path / 'k.db'}")
    assert rc == 0, err
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 2 * 20 == s["requests"]  # 96 bars in pages of 5
    assert len({c["conn"] for c in calls}) <= 2


def test_alpaca_postgres(tickerd, postgres):
    import psycopg2
    sim = tickerd.sim()
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT,NVDA", "--limit", "30",
                          "--store", postgres)
    assert rc == 0, err
    conn = psycopg2.connect(postgres)
    want = sorted(r for sym in ("AAPL", "MSFT", "NVDA") for r in expected_alpaca(sim, sym))
    assert checksum(db_rows(conn, "15Min")) == checksum(want)
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM jobs")
    assert cur.fetchone()[0] == 3 * (4 + 1)  # 4 pages and the row that completes the job
    conn.close()


def test_alpaca_multi_symbol_endpoint(tickerd, tmp_path, postgres):
    """--symbols-per-request 3: one request for three symbols on
    /v2/stocks/bars?symbols=..., pages shared by them; into SQLite and
    PostgreSQL the same rows as one request per symbol."""
    import psycopg2
    sim = tickerd.sim(record_calls=tmp_path / "calls.jsonl")
    syms = ["AAPL", "BRK.B", "MSFT", "NVDA", "TSLA"]
    want = sorted(r for sym in syms for r in expected_alpaca(sim, sym))
    seen = len((tmp_path / "calls.jsonl").read_text().splitlines())  # the expectation's calls
    for store in (f"sqlite:{tmp_path / 'm.db'}", postgres):
        rc, s, err = backfill(tickerd, sim, "--symbols", ",".join(syms), "--limit", "100",
                              "--symbols-per-request", "3", "--store", store)
        assert rc == 0, err
        lines = (tmp_path / "calls.jsonl").read_text().splitlines()
        calls, seen = [json.loads(x) for x in lines[seen:]], len(lines)
        assert {c["path"] for c in calls} == {"/v2/stocks/bars"}
        assert {c["symbols"] for c in calls} == {"AAPL,BRK.B,MSFT", "NVDA,TSLA"}
        assert len(calls) == 3 + 2  # 288 rows in pages of 100, then 192
        assert s["jobs"] == 2 and s["rows"] == len(want) == 5 * 96
        conn = (sqlite3.connect(tmp_path / "m.db") if store.startswith("sqlite:")
                else psycopg2.connect(store))
        assert checksum(db_rows(conn, "15Min")) == checksum(want)
        conn.close()
    # a rerun resumes by the group's job: every page is already done
    rc, s, err = backfill(tickerd, sim, "--symbols", ",".join(syms), "--limit", "100",
                          "--symbols-per-request", "3", "--store", postgres)
    assert rc == 0 and s["rows"] == 0 and s["skipped_rows"] == 5 * 96, err


def test_query_parameters_reach_the_vendor_and_name_the_jobs(tickerd, tmp_path):
    sim = tickerd.sim(record_calls=tmp_path / "calls.jsonl")
    db = tmp_path / "q.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL", "--limit", "50",
                          "--query", "feed=sip", "--query", "adjustment=split,dividend",
                          "--store", f"sqlite:{db}")
    assert rc == 0, err
    # every page's request carried them (the sim records each request's decoded query)
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 2 and "page_token" in calls[1]["query"]
    for c in calls:
        assert c["query"]["feed"] == "sip" and c["query"]["adjustment"] == "split,dividend"
    jobs = sqlite3.connect(db).execute("SELECT job, page FROM jobs ORDER BY page").fetchall()
    assert len(jobs) == 2 + 1  # and the row that completes the job
    assert {j for j, _ in jobs} == {
        "alpaca:AAPL:15Min:2022-04-11:2022-04-11&feed=sip&adjustment=split%2Cdividend"}
    # another feed is another job: nothing skipped
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL", "--limit", "50", "--query",
                          "feed=iex", "--store", f"sqlite:{db}")
    assert rc == 0 and s["skipped_rows"] == 0, err
    for bad in (["--query", "feed"], ["--query", "=x"]):
        p = tickerd.start("backfill", "--url", f"http://127.0.0.1:{sim.port}", "--symbols", "A",
                          "--start", START, "--end", END, *bad, env=ENV)
        p.popen.wait(10)
        assert p.returncode == 2 and b"--query wants NAME=VALUE" in p.stderr()


def test_alpaca_multi_group_with_an_invalid_symbol(tickerd, tmp_path):
    sim = tickerd.sim()
    db = tmp_path / "i.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,bad,MSFT,TSLA",
                          "--symbols-per-request", "2", "--limit", "1000",
                          "--store", f"sqlite:{db}")
    assert rc == 1
    assert "AAPL,bad: HTTP 422: invalid symbol: bad: fetching its 2 symbols one by one" in err
    res = {r["symbol"]: r["status"] for r in s["results"]}
    assert res == {"MSFT,TSLA": "done", "AAPL": "done", "bad": "failed"}
    assert s["jobs"] == 3 and s["failed"] == 1
    want = sorted(r for sym in ("AAPL", "MSFT", "TSLA") for r in expected_alpaca(sim, sym))
    assert checksum(db_rows(sqlite3.connect(db), "15Min")) == checksum(want)


def test_polygon_postgres(tickerd, postgres):
    import psycopg2
    sim = tickerd.sim()
    rc, s, err = backfill(tickerd, sim, "--vendor", "polygon", "--symbols", "AAPL,MSFT,X:BTCUSD",
                          "--limit", "50", "--store", postgres)
    assert rc == 0, err
    want = sorted(r for sym in ("AAPL", "MSFT", "X:BTCUSD") for r in expected_polygon(sim, sym))
    conn = psycopg2.connect(postgres)
    assert checksum(db_rows(conn, "15/minute")) == checksum(want)
    conn.close()
    # the store's own figures (what the benchmark compares with a raw COPY)
    st = s["store"]
    # pages: the store's writes, each job's completion row included
    assert st["rows"] == st["inserted"] == len(want)
    assert st["pages"] == (s["results"][0]["pages"] + 1) * 3
    assert 1 <= st["transactions"] <= st["pages"] and st["busy_s"] >= st["active_s"] > 0
    assert f"{st['pages']} pages in {st['transactions']} transactions" in err


def test_polygon_sqlite(tickerd, tmp_path):
    sim = tickerd.sim()
    db = tmp_path / "p.db"
    rc, s, err = backfill(tickerd, sim, "--vendor", "polygon", "--symbols", "AAPL,MSFT",
                          "--limit", "50", "--store", f"sqlite:{db}")
    assert rc == 0, err
    want = sorted(r for sym in ("AAPL", "MSFT") for r in expected_polygon(sim, sym))
    assert len(want) == 2 * 96
    assert checksum(db_rows(sqlite3.connect(db), "15/minute")) == checksum(want)


def test_random_5xx_retried(tickerd, tmp_path):
    """A quarter of the answers are 500/502/503 at random: every job still
    completes (backoff and retry), with exactly the sim's bars."""
    sim = tickerd.sim(hist_5xx_percent=25, seed=7, record_calls=tmp_path / "calls.jsonl")
    db = tmp_path / "f.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT,TSLA", "--limit", "10",
                          "--retries", "20", "--store", f"sqlite:{db}")
    assert rc == 0, err
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    failed = [c for c in calls if c["outcome"] == "injected"]
    assert {c["status"] for c in failed} <= {500, 502, 503} and len(failed) >= 3
    assert s["retries"] == len(failed)
    assert len(calls) - len(failed) == 3 * 10  # 96 bars in pages of 10
    clean = tickerd.sim(seed=7, name="clean")  # same seed, same bars, no faults
    want = sorted(r for sym in ("AAPL", "MSFT", "TSLA") for r in expected_alpaca(clean, sym))
    assert checksum(db_rows(sqlite3.connect(db), "15Min")) == checksum(want)


def test_invalid_symbol(tickerd, tmp_path):
    sim = tickerd.sim()
    db = tmp_path / "i.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,aapl,MSFT", "--store", f"sqlite:{db}")
    assert rc == 1
    failed = [r for r in s["results"] if r["status"] == "failed"]
    assert [r["symbol"] for r in failed] == ["aapl"] and "invalid symbol" in failed[0]["error"]
    assert "failed: aapl: HTTP 422: invalid symbol: aapl" in err
    got = db_rows(sqlite3.connect(db), "15Min")
    assert checksum(got) == checksum(expected_alpaca(sim, "AAPL") + expected_alpaca(sim, "MSFT"))


def test_429_storm(tickerd, tmp_path):
    sim = tickerd.sim(alpaca_rate="5/1", record_calls=tmp_path / "calls.jsonl")
    db = tmp_path / "r.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT,TSLA", "--limit", "40",
                          "--store", f"sqlite:{db}")
    assert rc == 0, err
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    throttled = [c for c in calls if c["status"] == 429]
    assert throttled and s["retries"] >= len(throttled)
    assert sum(c["rows"] for c in calls) == 3 * 96
    got = db_rows(sqlite3.connect(db), "15Min")
    # (expected fetched after the rolling window has passed)
    time.sleep(1.1)
    want = []
    for sym in ("AAPL", "MSFT", "TSLA"):
        want += expected_alpaca(sim, sym)
        time.sleep(1.1)
    assert checksum(got) == checksum(want)


def test_rate_keeps_under_the_vendor_limit(tickerd, tmp_path):
    """--rate equal to the vendor's limit: no 429 at all, and never more than
    the limit in any rolling window of the sim's record (arrival times)."""
    sim = tickerd.sim(alpaca_rate="8/1", record_calls=tmp_path / "calls.jsonl")
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT,TSLA", "--limit", "12",
                          "--concurrency", "4", "--rate", "8/s",
                          "--store", f"sqlite:{tmp_path / 'r.db'}")
    assert rc == 0, err
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 3 * 8 and all(c["status"] == 200 for c in calls)  # 96 bars / 12
    t = sorted(c["t"] for c in calls)
    assert all(t[i + 8] - t[i] >= 10**9 - SLACK_NS for i in range(len(t) - 8)), t
    assert s["retries"] == 0 and s["rows"] == 3 * 96


def test_429_storm_with_only_x_ratelimit_reset(tickerd, tmp_path):
    """No Retry-After (as Alpaca's data host may answer): X-Ratelimit-Reset
    (epoch seconds) says when the window opens again."""
    sim = tickerd.sim(alpaca_rate="4/2", hist_retry_after=False,
                      record_calls=tmp_path / "calls.jsonl")
    db = tmp_path / "x.db"
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL,MSFT", "--limit", "20",
                          "--concurrency", "4", "--log-level", "info", "--store", f"sqlite:{db}")
    assert rc == 0, err
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    ok = [c for c in calls if c["status"] == 200]
    throttled = [c for c in calls if c["status"] == 429]
    assert len(ok) == 2 * 5 and throttled
    # the waits come from the header (up to the 2 s window), not the 1 s fallback
    waits = [int(x.split("retry in ")[1].split()[0]) for x in err.splitlines()
             if "HTTP 429: retry in" in x]
    assert waits and 1000 not in waits and max(waits) > 1000, waits
    assert len(throttled) <= 2 * len(ok), (len(throttled), len(ok))
    # never more than 4 answered in any rolling 2 s (the sim's record: wall-clock
    # request times; the sim's own window runs on the monotonic clock, read a
    # few µs later, hence the 5 ms of slack)
    t = sorted(c["t"] for c in ok)
    assert all(t[i + 4] - t[i] >= 2 * 10**9 - SLACK_NS for i in range(len(t) - 4)), t
    assert s["rows"] == 2 * 96


class Db:
    """The store a test writes: a SQLite file or the PostgreSQL fixture."""

    def __init__(self, spec, path=None):
        self.spec, self.path = spec, path

    def connect(self):
        if self.path:
            return sqlite3.connect(self.path, timeout=0.1)
        import psycopg2
        return psycopg2.connect(self.spec)

    def scalar(self, sql):
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchone()
        finally:
            conn.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_kill9_resume(tickerd, tmp_path, request, kind):
    sim = tickerd.sim(hist_latency=100)
    db = (Db(f"sqlite:{tmp_path / 'k.db'}", tmp_path / "k.db") if kind == "sqlite"
          else Db(request.getfixturevalue("postgres")))
    syms = "AAPL,MSFT,TSLA"
    argv = [str(tickerd.binary), "backfill", "--url", f"http://127.0.0.1:{sim.port}",
            "--start", START, "--end", END, "--rate", "100000/s", "--symbols", syms,
            "--limit", "4", "--concurrency", "3", "--store", db.spec]
    env = dict(os.environ, **harness.SANITIZER_ENV, **ENV)
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and p.poll() is None:
        try:
            if db.scalar("SELECT count(*) FROM bars")[0] >= 20:
                break
        except Exception:  # not created yet, or locked
            pass
        time.sleep(0.05)
    assert p.poll() is None, "finished before the kill"
    p.send_signal(signal.SIGKILL)
    p.wait(5)
    partial = db.scalar("SELECT count(*) FROM bars")[0]
    assert 0 < partial < 3 * 96
    # atomicity: the bars are exactly those of the pages the jobs table lists
    assert partial == db.scalar("SELECT coalesce(sum(rows), 0) FROM jobs")[0]
    rc, s, err = backfill(tickerd, sim, "--symbols", syms, "--limit", "4", "--concurrency", "3",
                          "--store", db.spec)
    assert rc == 0, err
    assert s["skipped_rows"] > 0 and s["rows"] + s["skipped_rows"] == 3 * 96
    conn = db.connect()
    got = db_rows(conn, "15Min")
    conn.close()
    want = sorted(r for sym in syms.split(",") for r in expected_alpaca(sim, sym))
    assert len(got) == len(want) and checksum(got) == checksum(want)
    conn = db.connect()
    cur = conn.cursor()
    cur.execute("SELECT job, count(*) FROM jobs GROUP BY job ORDER BY job")
    per_job = cur.fetchall()
    conn.close()
    # every page of every job (24), once, and the row that completes it
    assert [n for _, n in per_job] == [25, 25, 25], per_job


# --- grid mode -------------------------------------------------------------

GRID_SYMS = ["btc", "eth", "ltc"]
GRID_DAYS = ["2020-03-01", "2020-03-02", "2020-03-03", "2020-03-04", "2020-03-05"]


def grid(tickerd, sim, exchanges_file, db, timeout=30):
    store = db if isinstance(db, str) else f"sqlite:{db}"
    tpl = f"http://127.0.0.1:{sim.port}/price/{{exchange}}/{{symbol}}/{{date}}"
    p = tickerd.start("backfill", "--url", tpl, "--param", f"exchange=@{exchanges_file}",
                      "--param", "symbol=" + ",".join(GRID_SYMS),
                      "--param", f"date={GRID_DAYS[0]}..{GRID_DAYS[-1]}",
                      "--rate", "100000/s", "--concurrency", "4", "--json",
                      "--store", store)
    p.popen.wait(timeout)
    out = p.stdout().decode()
    return p.returncode, json.loads(out) if out.strip() else None, p.stderr().decode()


def grid_rows(db):
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT params, body FROM grid").fetchall())
    jobs = conn.execute("SELECT COUNT(*) FROM jobs WHERE job LIKE 'grid:%'").fetchone()[0]
    conn.close()
    return rows, jobs


def price(sim, ex, sym, day):
    url = f"http://127.0.0.1:{sim.port}/price/{ex}/{sym}/{day}"
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def test_grid_sqlite_and_rerun(tickerd, tmp_path):
    sim = tickerd.sim()
    exchanges = get(f"http://127.0.0.1:{sim.port}/exchanges")[:3]
    assert len(exchanges) == 3
    exf = tmp_path / "exchanges.txt"
    exf.write_text("\n".join(exchanges) + "\n")
    db = tmp_path / "g.db"
    rc, s, err = grid(tickerd, sim, exf, db)
    assert rc == 0, err
    assert s["cells"] == 45 and s["done"] == 45 and s["stored"] == 45 and s["failed"] == 0
    rows, jobs = grid_rows(db)
    assert len(rows) == 45 and jobs == 45
    want = {json.dumps({"date": d, "exchange": e, "symbol": y}, separators=(",", ":"))
            for e in exchanges for y in GRID_SYMS for d in GRID_DAYS}
    assert set(rows) == want
    for e, y, d in [(exchanges[0], "btc", GRID_DAYS[0]), (exchanges[1], "eth", GRID_DAYS[2]),
                    (exchanges[2], "ltc", GRID_DAYS[4])]:
        key = json.dumps({"date": d, "exchange": e, "symbol": y}, separators=(",", ":"))
        assert rows[key] == price(sim, e, y, d)
        assert json.loads(rows[key])["exchange"] == e
    # a rerun stores nothing new: every request is skipped
    rc, s, err = grid(tickerd, sim, exf, db)
    assert rc == 0, err
    assert s["done"] == 45 and s["skipped"] == 45 and s["stored"] == 0 and s["requests"] == 0
    assert grid_rows(db) == (rows, jobs)


def test_grid_postgres(tickerd, tmp_path, postgres):
    import psycopg2
    sim = tickerd.sim()
    exchanges = get(f"http://127.0.0.1:{sim.port}/exchanges")[:2]
    exf = tmp_path / "exchanges.txt"
    exf.write_text("\n".join(exchanges) + "\n")
    rc, s, err = grid(tickerd, sim, exf, postgres)
    assert rc == 0, err
    assert s["cells"] == 30 and s["stored"] == 30
    conn = psycopg2.connect(postgres)
    cur = conn.cursor()
    cur.execute("SELECT params, body FROM grid")
    rows = dict(cur.fetchall())
    cur.execute("SELECT count(*) FROM jobs WHERE job LIKE 'grid:%'")
    assert cur.fetchone()[0] == 30
    conn.close()
    assert len(rows) == 30
    for e in exchanges:
        for y in GRID_SYMS:
            for d in GRID_DAYS:
                key = json.dumps({"date": d, "exchange": e, "symbol": y}, separators=(",", ":"))
                assert rows[key] == price(sim, e, y, d)
    rc, s, err = grid(tickerd, sim, exf, postgres)  # rerun: nothing fetched again
    assert rc == 0 and s["skipped"] == 30 and s["requests"] == 0, err


def test_grid_unknown_exchange(tickerd, tmp_path):
    sim = tickerd.sim()
    exchanges = get(f"http://127.0.0.1:{sim.port}/exchanges")[:2] + ["nosuchexchange"]
    exf = tmp_path / "exchanges.txt"
    exf.write_text("\n".join(exchanges) + "\n")
    db = tmp_path / "g.db"
    rc, s, err = grid(tickerd, sim, exf, db)
    assert rc == 1, err
    assert s["stored"] == 30 and s["failed"] == 15
    assert {f["params"]["exchange"] for f in s["failures"]} == {"nosuchexchange"}
    assert all("404" in f["error"] for f in s["failures"])
    assert "15 failed" in err and "nosuchexchange" in err
    rows, _ = grid_rows(db)
    assert len(rows) == 30
    assert all(json.loads(k)["exchange"] != "nosuchexchange" for k in rows)


def test_grid_usage_errors(tickerd, tmp_path):
    sim = tickerd.sim()
    base = f"http://127.0.0.1:{sim.port}/price/{{exchange}}/{{symbol}}/{{date}}"
    cases = [(["--url", base, "--param", "exchange=a", "--param", "symbol=btc"],
              b"--url placeholder {date} has no --param"),
             (["--url", base, "--param", "exchange=a", "--param", "symbol=btc",
               "--param", "date=2020-03-05..2020-03-01"],
              b"--param date: bad date range '2020-03-05..2020-03-01'"),
             (["--url", base, "--param", "exchange=a", "--param", "symbol=btc",
               "--param", "date=2020-02-30..2020-03-01"], b"bad date range")]
    for args, msg in cases:
        p = tickerd.start("backfill", *args, "--store", f"sqlite:{tmp_path / 'u.db'}")
        p.popen.wait(10)
        assert p.returncode == 2 and msg in p.stderr(), (args, p.stderr())


# --- what a person at a terminal sees ----------------------------------------

def run_on_pty(argv, env):
    """Runs argv with stderr on a pseudo-terminal; returns (exit code, text)."""
    import pty  # noqa: F401  (os.openpty needs the pty driver)
    master, slave = os.openpty()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(30), b"".join(chunks).decode(errors="replace")


def test_progress_line_on_a_terminal(tickerd, tmp_path):
    sim = tickerd.sim(hist_latency=50)
    argv = [str(tickerd.binary), "backfill", "--url", f"http://127.0.0.1:{sim.port}",
            "--start", START, "--end", END, "--rate", "0", "--symbols", "AAPL,MSFT,TSLA,nope",
            "--limit", "10", "--concurrency", "2"]
    env = dict(os.environ, **harness.SANITIZER_ENV, **ENV)
    rc, out = run_on_pty(argv + ["--store", f"sqlite:{tmp_path / 't.db'}"], env)
    assert rc == 1, out  # "nope" is not a valid symbol
    frames = out.split("\r\x1b[K")
    bars = [f for f in frames if f.startswith("[") and " jobs " in f]
    assert len(bars) >= 3, out  # redrawn in place while the pages come in
    assert any("ETA 0:0" in f for f in bars), bars
    assert any(" rows/s " in f and f.split("  ")[1].endswith("rows") for f in bars), bars
    # the failure's log line gets a line of its own, then the bar comes back
    log = [f for f in frames if " W nope: failed: HTTP 422" in f]
    assert log and log[0].split("\r\n")[1].startswith("["), frames
    # the last state stays on screen, followed by the summary
    final = "[####################] 4/4 jobs  1 failed  288 rows"
    assert final in out and out.index(final) < out.index("backfill: 4 jobs: 3 done, 1 failed")
    assert out.rstrip().endswith("failed: nope: HTTP 422: invalid symbol: nope"), out[-300:]

    # not a terminal (auto): no progress line; --progress off on a terminal: none either
    p = subprocess.run(argv + ["--store", f"sqlite:{tmp_path / 'p.db'}"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1 and b"\x1b[K" not in p.stderr and b"jobs  " not in p.stderr
    rc, out = run_on_pty(argv + ["--store", f"sqlite:{tmp_path / 'o.db'}", "--progress", "off"],
                         env)
    assert rc == 1 and "\x1b[K" not in out and "backfill: 4 jobs" in out


def test_vendor_usage_errors(tickerd, tmp_path):
    """Clear exit-2 lines before any request: dates in the wrong order, the
    multi-symbol endpoint asked of Polygon."""
    sim = tickerd.sim(record_calls=tmp_path / "calls.jsonl")
    url = f"http://127.0.0.1:{sim.port}"
    cases = [
        (["--start", "2022-04-12", "--end", "2022-04-11"],
         b"--start 2022-04-12 is after --end 2022-04-11"),
        (["--start", "2022-04-12T10:00:00Z", "--end", "2022-04-12T09:00:00Z"],
         b"is after --end"),
        (["--vendor", "polygon", "--symbols-per-request", "5", "--start", "2022-04-11",
          "--end", "2022-04-12"], b"--symbols-per-request is for --vendor alpaca"),
    ]
    for args, msg in cases:
        p = tickerd.start("backfill", "--url", url, "--symbols", "AAPL", *args,
                          "--store", f"sqlite:{tmp_path / 'u.db'}", env=ENV)
        p.popen.wait(10)
        assert p.returncode == 2 and msg in p.stderr(), (args, p.stderr())
    assert (tmp_path / "calls.jsonl").read_text() == ""  # nothing was asked of the vendor
    # the same day for both is one day, not an error
    rc, s, err = backfill(tickerd, sim, "--symbols", "AAPL", "--start", "2022-04-11",
                          "--end", "2022-04-11", "--store", f"sqlite:{tmp_path / 'd.db'}")
    assert rc == 0 and s["rows"] > 0, err
