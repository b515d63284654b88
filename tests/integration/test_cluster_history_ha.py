# SPDX-License-Identifier: Apache-2.0
"""History and the HA lease on a Redis Cluster (redis+cluster://, 3
primaries): each channel's history stream is history:{<channel>}, on the
channel's own shard, with exactly the channel's events in order; two
instances sharing a lease on the cluster have one active, and kill -9 of
the active hands over to the other within the ttl + 1 s."""
import json
import re
import signal
import time

import pytest

from harness import RedisCluster, ShardedCollector, read_record
from simclient import run
from test_gateway_since import open_since, read_for, sim_done
from test_ha import health, kill_and_wait_resumed, metric, sim_opens
from test_redis_cluster import CHANNELS, SYMBOLS, start_run
from test_run_redis import expected_for, wait_sim_done

ENV = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
TTL = 1.5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = RedisCluster(tmp_path_factory.mktemp("cluster"), replicas=0)
    try:
        yield c.start()
    finally:
        c.stop()


def flush(cluster):
    for port in {p for _, _, p, _ in cluster.slots()}:
        cluster.node(port).client().flushall()


def test_history_on_the_channels_shard(tickerd, cluster, tmp_path):
    flush(cluster)
    assert len({cluster.owner(ch) for ch in CHANNELS}) == 3, "the channels span every shard"
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=4000, symbols=len(SYMBOLS), batch=20)
    run = start_run(tickerd, sim, cluster, redis_history=100000)
    run.wait_for_log(r"slot map: 3 primaries")
    wait_sim_done(sim, 4000)
    want = expected_for(read_record(rec), CHANNELS)
    for ch in CHANNELS:
        key = "history:{" + ch + "}"
        assert cluster.keyslot(key) == cluster.keyslot(ch)
        node = cluster.node(cluster.owner(ch)).client()
        deadline = time.monotonic() + 20
        while node.xlen(key) < len(want[ch]) and time.monotonic() < deadline:
            time.sleep(0.05)
        got = [f[b"e"] for _, f in node.xrange(key)]
        assert got == want[ch], f"{ch}: {len(got)} in history, {len(want[ch])} sent"
    assert run.count_log(r"XADD rejected") == 0


def test_since_from_a_cluster(tickerd, cluster, tmp_path):
    """A gateway on a cluster serves "since" by polling each stream on its
    shard: history after the id, then live, exactly the stream's entries."""
    flush(cluster)
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=600, count=4000, symbols=4)
    gw = start_run(tickerd, sim, cluster, redis_history=100000, subscribe="quotes=*",
                   listen=True, client=["demo:demo"])
    key, ch = "history:{quotes.AAPL}", "quotes.AAPL"
    node = cluster.node(cluster.owner(ch)).client()
    deadline = time.monotonic() + 20
    while node.xlen(key) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    since = node.xrange(key, count=10)[9][0].decode()
    got = []

    async def scenario():
        ws = await open_since(gw, since)
        await read_for(ws, got, seconds=1)
        await sim_done(sim, 4000)
        await read_for(ws, got, quiet=1.5)
        await ws.close()

    run(scenario(), timeout=60)
    hist = [(i.decode(), f[b"e"]) for i, f in node.xrange(key)]
    assert len(hist) > 100 and got == hist[10:], f"{len(got)} received, {len(hist) - 10} after"


def start_ha(tickerd, sim, cluster, name):
    return tickerd.run(url=sim.url("/v2/iex"), redis=cluster.url, ha_lease="acct", ha_ttl=TTL,
                       subscribe="trades=AAPL,MSFT,AMZN,NVDA", listen=True, client="c:d",
                       stats_interval=0, backoff_min=0.05, backoff_max=0.3, env=ENV, name=name)


CHANS = [f"trades.{s}" for s in ("AAPL", "MSFT", "AMZN", "NVDA")]


def two_on_cluster(tickerd, sim, cluster):
    a = start_ha(tickerd, sim, cluster, "ha-a")
    a.wait_for_log(r"now ACTIVE \(acquired the free lease\), fencing token 1")
    a.wait_for_log(r"subscribed, streaming")
    b = start_ha(tickerd, sim, cluster, "ha-b")
    b.wait_for_log(r"ha: lease acct held by \S+:1; standing by")
    return a, b


def test_lease_on_a_cluster_one_active_then_takeover(tickerd, cluster):
    flush(cluster)
    coll = ShardedCollector(cluster, CHANS).start()
    try:
        sim = tickerd.sim(rate=400, symbols=4, max_conns=1)
        a, b = two_on_cluster(tickerd, sim, cluster)
        lease = cluster.node(cluster.owner("lease:{acct}")).client()
        assert lease.get("lease:{acct}:token") == b"1"
        assert lease.get("lease:{acct}").endswith(b":1")
        time.sleep(2 * TTL)  # renewals and acquire attempts
        assert sim_opens(sim) == 1, sim.describe()
        roles = [health(p)["ha"]["role"] for p in (a, b)]
        assert roles == ["active", "standby"], roles
        coll.wait_count(20, timeout=10)
        kill_and_wait_resumed(a, coll, TTL)
        b.wait_for_log(r"now ACTIVE \(took over the lease\), fencing token 2")
        assert health(b)["ha"]["fencing_token"] == 2
        assert len(re.findall(rb"error 406", sim.stderr())) == 0
    finally:
        coll.stop()


def test_paused_active_on_a_cluster_fences_itself(tickerd, cluster):
    """SIGSTOP the holder past its lease: on waking it fences itself before
    publishing what its upstream socket collected meanwhile."""
    flush(cluster)
    coll = ShardedCollector(cluster, CHANS).start()
    try:
        sim = tickerd.sim(rate=400, symbols=4, max_conns=2)
        a, b = two_on_cluster(tickerd, sim, cluster)
        coll.wait_count(20, timeout=10)
        before = metric(a, "tickerd_redis_published_total")
        a.signal(signal.SIGSTOP)
        b.wait_for_log(r"now ACTIVE \(took over the lease\), fencing token 2", timeout=TTL + 3)
        time.sleep(TTL)  # A's upstream socket keeps filling
        a.signal(signal.SIGCONT)
        a.wait_for_log(r"now STANDBY \(lease (not renewed in time|lost)")
        time.sleep(0.5)
        after = metric(a, "tickerd_redis_published_total")
        # what was in flight when it was paused, nothing of what it read on waking
        assert after - before < 30, (before, after)
        assert [health(p)["ha"]["role"] for p in (a, b)] == ["standby", "active"]
        payloads = [m[1] for m in coll.snapshot()]
        assert len(payloads) == len(set(payloads)), "an event was published twice"
    finally:
        coll.stop()


def test_refill_on_a_cluster_is_marked_and_in_order(tickerd, cluster):
    """A refill on a cluster: the refilled bars land in each channel's
    history stream on its shard, marked r=1 (and "refilled":true in the
    JSON), in order per symbol among the live ones, none twice."""
    flush(cluster)
    syms = ["AAPL", "MSFT", "TSLA"]
    sim = tickerd.sim(rate=200, symbols=8, drop_every=3, bar_seconds=1)
    # outages longer than a bar period: each costs bars, which come back refilled
    run = start_run(tickerd, sim, cluster, redis_history=100000, subscribe="bars=" + ",".join(syms),
                    backoff_min=1.5, backoff_max=1.8, refill_bar_seconds=1, refill_delay=0.3)
    run.wait_for_log(r"refill .*: done, [1-9]\d* event", timeout=25)
    run.stop()
    marked = 0
    for sym in syms:
        ch = f"bars.{sym}"
        node = cluster.node(cluster.owner(ch)).client()
        entries = [f for _, f in node.xrange("history:{" + ch + "}") if b"e" in f]
        bars = [(json.loads(f[b"e"]), f.get(b"r")) for f in entries]
        ts = [b["t"] for b, _ in bars]
        assert ts == sorted(ts) and len(set(ts)) == len(ts), f"{sym}: {ts}"
        for b, mark in bars:
            assert (mark == b"1") == (b.get("refilled") is True), (sym, b, mark)
        marked += sum(1 for _, mark in bars if mark == b"1")
    assert marked >= 1, run.describe()
