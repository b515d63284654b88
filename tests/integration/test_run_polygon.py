# SPDX-License-Identifier: Apache-2.0
"""tickerd run with a Polygon upstream (--feed polygon) against the simulator:
exact delivery per channel, and two instances on one key never evict each
other in a loop."""
import json
import re
import time

from harness import group_by_channel, read_record

KEY = {"POLYGON_API_KEY": "PKPOLY"}
KIND_BY_EV = {"T": "trades", "Q": "quotes", "AM": "bars", "A": "secondBars", "LULD": "lulds",
              "NOI": "imbalances", "XT": "trades", "XQ": "quotes", "XA": "bars",
              "XAS": "secondBars", "XL2": "orderbooks", "C": "quotes", "CA": "bars",
              "CAS": "secondBars"}


def channel(ev):
    o = json.loads(ev)
    sym = o.get("sym") or o.get("pair") or (o.get("p") if o["ev"] == "C" else None) or o.get("T")
    return f"{KIND_BY_EV[o['ev']]}.{sym}"


def start_run(tickerd, sim, urls, env=KEY, **opts):
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("backoff_min", 0.05)
    opts.setdefault("backoff_max", 0.5)
    return tickerd.run(feed="polygon", url=[sim.url(u) for u in urls], env=env, **opts)


def test_polygon_channels_exact(tickerd, redis, redis_collector, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=4000, symbols=8, batch=20)
    patterns = ("trades.*", "quotes.*", "bars.*")
    coll = redis_collector(redis, patterns=patterns)
    run = start_run(tickerd, sim, ("/stocks", "/crypto"), redis=redis.url,
                    subscribe="trades=*;quotes=*;bars=*")
    sim.wait_for_log(r"--count 4000 reached", timeout=20)
    record = read_record(rec)
    want = {}
    for ev in record:
        ch = channel(ev)
        if ch.split(".")[0] in ("trades", "quotes", "bars"):
            want.setdefault(ch, []).append(ev)
    assert any(ch.startswith("trades.") and "-" in ch for ch in want), "no crypto trades"
    assert any(ch.startswith("quotes.") and "-" not in ch for ch in want), "no stock quotes"
    coll.wait_count(sum(len(v) for v in want.values()), timeout=20)
    coll.wait_quiet(0.5)
    assert group_by_channel(coll.snapshot()) == want
    assert run.count_log(r"upstream \S+: connected") == 2


def polygon_evictions(sim):
    return len(re.findall(rb"max_connections", sim.stderr()))


def test_two_instances_do_not_evict_each_other(tickerd, redis, redis_collector):
    for evict in ("new", "old"):
        sim = tickerd.sim(rate=300, symbols=4, max_conns=1, polygon_evict=evict,
                          name=f"sim-{evict}")
        coll = redis_collector(redis, patterns=("quotes.*",))
        first = start_run(tickerd, sim, ("/stocks",), redis=redis.url, subscribe="quotes=*",
                          conn_limit_backoff=30, name=f"first-{evict}")
        first.wait_for_log("subscribed, streaming")
        coll.wait_count(20)
        second = start_run(tickerd, sim, ("/stocks",), redis=redis.url, subscribe="quotes=*",
                           conn_limit_backoff=30, name=f"second-{evict}")
        loser = second if evict == "new" else first
        winner = first if evict == "new" else second
        loser.wait_for_log(r"max_connections: another instance holds", timeout=10)
        m = loser.wait_for_log(r"reconnecting in ([0-9.]+)s")
        assert float(m.group(1)) >= 26.0, "the evicted instance must back off long"
        n = len(coll.snapshot())
        time.sleep(3.0)
        # the winner keeps streaming, and nobody was evicted again
        assert len(coll.snapshot()) > n + 100
        assert polygon_evictions(sim) >= 1
        assert winner.count_log(r"max_connections") == 0
        assert loser.count_log(r"upstream \S+: connected") == 1
        second.stop()
        first.stop()
        sim.stop()


def test_polygon_auth_failed_is_fatal(tickerd):
    sim = tickerd.sim(key="PKPOLY")
    run = start_run(tickerd, sim, ("/stocks",), env={"POLYGON_API_KEY": "wrong"}, stdout=True)
    assert run.popen.wait(15) == 3
    assert b"auth failed" in run.stderr()


def test_polygon_bad_cluster(tickerd):
    sim = tickerd.sim()
    run = start_run(tickerd, sim, ("/v2/iex",), stdout=True, wait=False)
    assert run.popen.wait(10) == 2
    assert b"not a Polygon cluster" in run.stderr()
