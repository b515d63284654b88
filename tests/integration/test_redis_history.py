# SPDX-License-Identifier: Apache-2.0
"""Per-channel history (--redis-history N): next to each PUBLISH the sink
appends the event to the stream history:<kind>.<SYMBOL> (field e, the
vendor's bytes), trimmed to about N entries, so that a backend can resume
with XREAD from the last ID it processed."""
import json
import time

from harness import read_record
from test_run_redis import wait_sim_done

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}


def sim_quotes(rec, sym="AAPL"):
    return [ev for ev in read_record(rec)
            if json.loads(ev).get("T") == "q" and json.loads(ev)["S"] == sym]


def start(tickerd, redis, tmp_path, count, rate, **opts):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=rate, count=count, symbols=6)
    tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url,
                subscribe="trades=*;quotes=*", **opts)
    return sim, rec


def wait_xlen(client, key, n, timeout=30):
    deadline = time.monotonic() + timeout
    while client.xlen(key) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return client.xlen(key)


def test_xrange_equals_what_a_subscriber_got(tickerd, redis, redis_collector, tmp_path):
    coll = redis_collector(redis, channels=("quotes.AAPL",))
    sim, rec = start(tickerd, redis, tmp_path, 3000, 3000, redis_history=100000)
    wait_sim_done(sim, 3000)
    quotes = sim_quotes(rec)
    assert len(quotes) > 20
    got = [data for _, data in coll.wait_count(len(quotes), timeout=30)]
    assert got == quotes
    r = redis.client()
    assert wait_xlen(r, "history:quotes.AAPL", len(quotes)) == len(quotes)
    entries = r.xrange("history:quotes.AAPL")
    assert [fields[b"e"] for _, fields in entries] == quotes
    assert all(set(fields) == {b"e"} for _, fields in entries)


def test_a_backend_that_stops_and_resumes_from_its_last_id_loses_nothing(tickerd, redis,
                                                                        tmp_path):
    sim, rec = start(tickerd, redis, tmp_path, 8000, 1000, redis_history=100000)
    r = redis.client()
    key = "history:quotes.AAPL"
    got, last = [], "0"
    deadline = time.monotonic() + 10
    while len(got) < 10 and time.monotonic() < deadline:  # the backend runs a while
        for _, entries in r.xread({key: last}, count=5, block=200) or []:
            for eid, fields in entries:
                got.append(fields[b"e"])
                last = eid
    assert len(got) >= 10
    time.sleep(4)  # stopped: events keep coming
    wait_sim_done(sim, 8000)
    quotes = sim_quotes(rec)
    deadline = time.monotonic() + 30
    while len(got) < len(quotes) and time.monotonic() < deadline:  # resumes from its last ID
        for _, entries in r.xread({key: last}, count=100, block=200) or []:
            for eid, fields in entries:
                got.append(fields[b"e"])
                last = eid
    assert got == quotes


def test_history_is_trimmed_to_about_n(tickerd, redis, tmp_path):
    sim, rec = start(tickerd, redis, tmp_path, 6000, 3000, redis_history=20)
    wait_sim_done(sim, 6000)
    quotes = sim_quotes(rec)
    r = redis.client()
    key = "history:quotes.AAPL"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        last = r.xrevrange(key, count=1)
        if last and last[0][1][b"e"] == quotes[-1]:
            break
        time.sleep(0.05)
    assert r.xrevrange(key, count=1)[0][1][b"e"] == quotes[-1]
    n = r.xlen(key)
    assert 20 <= n < len(quotes)  # MAXLEN ~ trims whole nodes (100 entries by default)
    assert n <= 20 + 100


def test_no_history_by_default(tickerd, redis, redis_collector, tmp_path):
    coll = redis_collector(redis, channels=("quotes.AAPL",))
    sim, rec = start(tickerd, redis, tmp_path, 2000, 2000)
    wait_sim_done(sim, 2000)
    coll.wait_count(len(sim_quotes(rec)), timeout=30)
    assert redis.client().keys("history:*") == []
