# SPDX-License-Identifier: Apache-2.0
"""src/store (the backfill store) through tests/tools/store_tool, against
SQLite in tmp_path and a real PostgreSQL (the `postgres` fixture).

Pages are committed together with their jobs row, so: rows equal what was
written; writing the same pages again adds nothing; after kill -9 the bars
are exactly the union of the pages listed in jobs, and a rerun completes
the job with no gap and no duplicate."""

import os
import signal
import sqlite3
import subprocess
import time

import pytest

import harness

BASE_TS = 1_700_000_000_000_000_000
COLS = "symbol, timeframe, ts, open, high, low, close, volume, trade_count, vwap, source"


def make_rows(n, symbols=("AAPL", "MSFT", "BRK.B")):
    rows = []
    for i in range(n):
        sym = symbols[i % len(symbols)]
        ts = BASE_TS + (i // len(symbols)) * 60_000_000_000
        o = 100 + i * 0.01
        rows.append((sym, "1Min", ts, o, o + 0.5, o - 0.5, o + 0.125, float(i * 10 + 1),
                     None if i % 7 == 0 else i, None if i % 5 == 0 else o + 1 / 3, "test"))
    return rows


def to_csv(rows):
    out = []
    for r in rows:
        tc = "" if r[8] is None else str(r[8])
        vw = "" if r[9] is None else repr(r[9])
        out.append(f"{r[0]},{r[2]},{r[3]!r},{r[4]!r},{r[5]!r},{r[6]!r},{r[7]!r},{tc},{vw}\n")
    return "".join(out)


class Backend:
    def __init__(self, kind, spec, pg=None, path=None):
        self.kind, self.spec, self.pg, self.path = kind, spec, pg, path

    def query(self, sql):
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return [tuple(r) for r in c.execute(sql).fetchall()]
        import psycopg2
        c = psycopg2.connect(self.spec)
        try:
            with c.cursor() as cur:
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()]
        finally:
            c.close()

    def bars(self):
        return self.query(f"SELECT {COLS} FROM bars ORDER BY symbol, timeframe, ts")

    def jobs(self, job):
        return self.query(f"SELECT page, rows FROM jobs WHERE job = '{job}' ORDER BY page")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite"
        return Backend("sqlite", f"sqlite:{path}", path=path)
    url = request.getfixturevalue("postgres")
    return Backend("postgres", url)


@pytest.fixture
def tool(tickerd_bin, tmp_path):
    path = tickerd_bin.parent / "store_tool"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built", pytrace=False)
    env = dict(os.environ, **harness.SANITIZER_ENV)

    def run(*args, rows=None, stdin_text=None, check=True, timeout=120):
        text = to_csv(rows) if rows is not None else (stdin_text or "")
        data = text if isinstance(text, bytes) else text.encode()
        p = subprocess.run([str(path), *map(str, args)], input=data, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        for m in harness.SANITIZER_MARKERS:
            assert m not in p.stderr, p.stderr.decode(errors="replace")
        if check:
            assert p.returncode == 0, p.stderr.decode(errors="replace")
        return p

    def popen(*args, rows):
        f = tmp_path / f"in{time.monotonic_ns()}.csv"
        f.write_text(to_csv(rows))
        with open(f, "rb") as stdin:
            return subprocess.Popen([str(path), *map(str, args)], stdin=stdin, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    run.popen = popen
    return run


def summary(p):
    last = p.stdout.decode().strip().splitlines()[-1].split()
    assert last[0] == "written", p.stdout
    return {"written": int(last[1]), "skipped": int(last[3]), "maxbacklog": int(last[5]),
            "inserted": int(last[7])}


def expect(rows):
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def checksum(backend):
    (n, ts, close, tc), = backend.query(
        f"SELECT count(*), sum((ts - {BASE_TS}) / 1000000000), sum(close), sum(trade_count)"
        " FROM bars")
    return int(n), int(ts), float(close), int(tc)


def test_rows_and_checksum_equal_what_was_written(store, tool):
    rows = make_rows(2500)
    p = tool(store.spec, "write", "j1", 100, "--backlog", 3, rows=rows)
    s = summary(p)
    assert s["written"] == 25 and s["skipped"] == 0 and s["inserted"] == 2500
    assert 1 <= s["maxbacklog"] <= 3  # backpressure: never more than the limit queued
    assert p.stdout.decode().count("done p") == 25
    assert store.bars() == expect(rows)
    want = (len(rows), sum((r[2] - BASE_TS) // 1_000_000_000 for r in rows), sum(r[6] for r in rows),
            sum(r[8] for r in rows if r[8] is not None))
    got = checksum(store)
    assert got[:2] == want[:2] and got[3] == want[3]
    assert got[2] == pytest.approx(want[2], rel=1e-12)
    assert store.jobs("j1") == [(f"p{i:06d}", 100) for i in range(25)]
    listed = tool(store.spec, "pages", "j1").stdout.decode().split("\n")
    assert listed[:2] == ["p000000 100", "p000001 100"] and len([x for x in listed if x]) == 25


def test_same_pages_twice_no_duplicates(store, tool):
    rows = make_rows(1000)
    tool(store.spec, "write", "j1", 64, rows=rows)
    again = summary(tool(store.spec, "write", "j1", 64, "--no-skip", rows=rows))
    # committed again, but every bar was already there: none counted as inserted
    assert again["written"] == 16 and again["inserted"] == 0
    assert store.bars() == expect(rows)
    assert len(store.jobs("j1")) == 16
    resumed = summary(tool(store.spec, "write", "j1", 64, rows=rows))
    assert resumed == {"written": 0, "skipped": 16, "maxbacklog": 0, "inserted": 0}
    # another job over overlapping bars adds only the new ones, and counts them
    more = make_rows(1500)
    s = summary(tool(store.spec, "write", "j2", 100, rows=more))
    assert s["inserted"] == 500 == len(store.bars()) - len(rows)
    assert store.bars() == expect(more)
    assert len(store.jobs("j2")) == 15 and len(store.jobs("j1")) == 16


@pytest.mark.parametrize("conns", [1, 3])
def test_kill9_midway_then_resume(store, tool, conns):
    if conns > 1 and store.kind == "sqlite":
        pytest.skip("SQLite has one writer: --connections does not apply")
    rows = make_rows(20000)
    page = 200
    p = tool.popen(store.spec, "write", "job", page, "--delay-ms", 15, "--connections", conns,
                   rows=rows)
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 10 and time.monotonic() < deadline:
        line = p.stdout.readline()
        assert line, p.stderr.read().decode(errors="replace")
        seen += line.startswith(b"done ")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.stdout.close()
    p.stderr.close()

    # atomicity: the bars are exactly the pages the jobs table lists
    done = store.jobs("job")
    assert len(done) >= 10 and len(done) < 100
    idx = [int(name[1:]) for name, _ in done]
    assert all(n == page for _, n in done)
    partial = [r for i in idx for r in rows[i * page:(i + 1) * page]]
    assert store.bars() == expect(partial)

    s = summary(tool(store.spec, "write", "job", page, "--connections", conns, rows=rows))
    assert s["skipped"] == len(done) and s["written"] == 100 - len(done)
    assert store.bars() == expect(rows)
    assert store.jobs("job") == [(f"p{i:06d}", page) for i in range(100)]


def test_grid_newest_fetch_wins_and_marks_job(store, tool):
    params = '{"symbols":"AAPL","timeframe":"1Day"}'
    tool(store.spec, "grid", "g", params, stdin_text='{"v":1}')
    tool(store.spec, "grid", "g", params, stdin_text='{"v":2,"s":"tab\there"}')
    assert store.query("SELECT params, body FROM grid") == [(params, '{"v":2,"s":"tab\there"}')]
    assert store.jobs("g") == [(params, 1)]
    # another template (job) with the same params keeps its own row
    tool(store.spec, "grid", "g2", params, stdin_text='{"v":3}')
    assert store.query("SELECT job, params, body FROM grid ORDER BY job") == [
        ("g", params, '{"v":2,"s":"tab\there"}'), ("g2", params, '{"v":3}')]


def test_old_grid_table_is_refused_clearly(store, tool):
    old = "CREATE TABLE grid(params TEXT PRIMARY KEY, body TEXT, fetched_at BIGINT)"
    if store.kind == "sqlite":
        with sqlite3.connect(store.path) as c:
            c.execute(old)
    else:
        import psycopg2
        c = psycopg2.connect(store.spec)
        c.autocommit = True
        c.cursor().execute(old)
        c.close()
    p = tool(store.spec, "pages", "j", check=False)
    assert p.returncode == 1
    assert b"table grid has an older layout (params only, no job column)" in p.stderr, p.stderr


def test_awkward_symbols_and_duplicates_within_a_page(store, tool):
    rows = make_rows(6, symbols=("A\\B", "C D", "É"))
    tool(store.spec, "write", "j", 4, rows=rows + rows[:3])
    assert store.bars() == expect(rows)
    assert store.jobs("j") == [("p000000", 4), ("p000001", 4), ("p000002", 1)]


def test_bad_spec_fails_cleanly(tool, tmp_path):
    for spec in ("mysql://x", "sqlite:", f"sqlite:{tmp_path}/no/such/dir/db",
                 "postgresql://postgres@127.0.0.1:1/none"):
        p = tool(spec, "pages", "j", check=False)
        assert p.returncode == 1, (spec, p.stderr)
        assert b"store_tool: open:" in p.stderr


def test_pages_queued_together_share_one_transaction(postgres, tool):
    """Pages queued while the worker is busy are committed as one group."""
    rows = make_rows(3200)
    tool(postgres, "write", "j", 100, "--backlog", 32, rows=rows)
    pg = Backend("postgres", postgres)
    assert pg.bars() == expect(rows)
    (txs,), = pg.query("SELECT count(DISTINCT xmin::text) FROM bars")
    assert 1 <= txs <= 8, txs  # 32 pages submitted at once: a handful of commits, not 32


def test_one_bad_page_fails_alone_in_its_group(postgres, tool):
    """A page PostgreSQL refuses (a symbol that is not UTF-8) fails by itself:
    the pages grouped with it are retried one by one and committed."""
    rows = make_rows(120)
    csv = to_csv(rows).encode()
    lines = csv.splitlines(keepends=True)
    lines[70] = b"\xff\xfe" + lines[70][lines[70].index(b","):]  # page p000003 of 20-row pages
    p = tool(postgres, "write", "j", 20, "--backlog", 6, "--keep-going",
             stdin_text=b"".join(lines), check=False)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 1, p.stderr
    assert out.count("failed p000003: postgres") == 1 and "invalid byte sequence" in out, out
    assert out.count("done p") == 5
    pg = Backend("postgres", postgres)
    good = [r for i, r in enumerate(rows) if not 60 <= i < 80]
    assert pg.bars() == expect(good)
    assert [name for name, _ in pg.jobs("j")] == [f"p{i:06d}" for i in (0, 1, 2, 4, 5)]


def test_several_connections_write_everything_once(postgres, tool):
    """Three connections commit groups concurrently (callbacks in any order);
    every page lands once, and overlapping writers are not an error."""
    rows = make_rows(6000)
    p = tool(postgres, "write", "j", 50, "--connections", 3, "--backlog", 32, rows=rows)
    assert summary(p)["written"] == 120
    pg = Backend("postgres", postgres)
    assert pg.bars() == expect(rows)
    assert pg.jobs("j") == [(f"p{i:06d}", 50) for i in range(120)]
    # two runs at once over the same bars (another job name): nothing doubled, no failure
    a = tool.popen(postgres, "write", "k", 40, "--no-skip", "--connections", 3, rows=rows)
    b = tool.popen(postgres, "write", "k2", 60, "--no-skip", "--connections", 3, rows=rows)
    for proc in (a, b):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode(errors="replace")
    assert pg.bars() == expect(rows)
    assert len(pg.jobs("k")) == 150 and len(pg.jobs("k2")) == 100
