# SPDX-License-Identifier: Apache-2.0
"""tickerd on a Redis Cluster (3 primaries + 3 replicas, redis+cluster://):
SPUBLISH reaches sharded subscribers on every shard with exactly the sim's
events, the last values land in their hash, and when a primary is killed its
promoted replica takes over: tickerd follows the new slot map, publishing
resumes and what it could not deliver is counted (the history streams
too)."""
import asyncio
import json
import re
import time

import pytest

from harness import RedisCluster, ShardedCollector, free_port, group_by_channel, read_record
from simclient import auth, connect, recv, run, split_array, subscribe
from test_gateway import http_get
from test_redis_source import WANT, client, fed_and_direct
from test_run_redis import KEYS, expected_for, wait_sim_done

SYMBOLS = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V"]
CHANNELS = [f"{k}.{s}" for k in ("quotes", "trades") for s in SYMBOLS]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c.start()
    finally:
        c.stop()


def start_run(tickerd, sim, cluster, **opts):
    opts.setdefault("subscribe", "trades=*;quotes=*")
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("redis", cluster.url if cluster else None)
    return tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, **opts)


def metrics(gw):
    _, _, body = http_get(gw, "/metrics")
    return {m.group(1).decode(): int(m.group(2))
            for m in re.finditer(rb"^tickerd_(\w+(?:\{[^}]*\})?) (\d+)$", body, re.M)}


def sent_events(m):
    return sum(v for k, v in m.items() if k.startswith("events_in_total{"))


def settled(m):
    return m["redis_published_total"] + m["redis_dropped_total"] == sent_events(m)


def test_spublish_reaches_sharded_subscribers_exactly(tickerd, cluster, tmp_path):
    owners = {ch: cluster.owner(ch) for ch in CHANNELS}
    assert len(set(owners.values())) == 3, "the channels must span every shard"
    coll = ShardedCollector(cluster, CHANNELS).start()
    try:
        rec = tmp_path / "sim.jsonl"
        sim = tickerd.sim(record=rec, rate=3000, count=4000, symbols=len(SYMBOLS), batch=20)
        run = start_run(tickerd, sim, cluster)
        run.wait_for_log(r"slot map: 3 primaries")
        wait_sim_done(sim, 4000)
        want = expected_for(read_record(rec), CHANNELS)
        total = sum(len(v) for v in want.values())
        assert total > 1000
        coll.wait_count(total, timeout=30)
        got = group_by_channel(coll.wait_quiet(1.0))
        assert sorted(got) == sorted(want)
        for ch in want:
            assert got[ch] == want[ch], f"{ch}: {len(got[ch])} received, {len(want[ch])} sent"
        # The last value of each symbol is in the hash, on the primary of its slot.
        for kind in ("quotes", "trades"):
            node = cluster.node(cluster.owner(f"last:{kind}")).client()
            for sym in SYMBOLS:
                assert node.hget(f"last:{kind}", sym) == want[f"{kind}.{sym}"][-1]
    finally:
        coll.stop()


def shard_numsub(cluster, channels):
    return {ch: cluster.node(cluster.owner(ch)).client().execute_command(
        "PUBSUB", "SHARDNUMSUB", ch)[1] for ch in channels}


def per_channel(events):
    out = {}
    for e in events:
        o = json.loads(e)
        out.setdefault((o["T"], o["S"]), []).append(e)
    return out


def test_cluster_fed_gateway_matches_direct(tickerd, cluster, tmp_path):
    for port in {p for _, _, p, _ in cluster.slots()}:  # no last values of earlier tests
        cluster.node(port).client().flushall()
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=2000, count=3000, symbols=8, batch=20)
    direct = tickerd.run(listen=True, url=[sim.url("/v2/iex")], env=KEYS, client=["demo:demo"],
                         redis=cluster.url, name="direct", stats_interval=0.5)
    fed = tickerd.run(listen=True, source=cluster.url, client=["demo:demo"], name="fed")
    fed.wait_for_log(r"redis source \S+: slot map: 3 primaries")
    subs = [f"{k}.{s}" for k, syms in WANT.items() for s in syms]
    subs += [f"{k}.{s}" for k in ("corrections", "cancelErrors") for s in WANT["trades"]]

    async def scenario():
        ws_fed = await client(fed)
        deadline = time.monotonic() + 10  # SSUBSCRIBEd, each on its own shard
        while min(shard_numsub(cluster, subs).values()) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert min(shard_numsub(cluster, subs).values()) == 1
        assert len({cluster.owner(ch) for ch in subs}) == 3
        assert shard_numsub(cluster, ["quotes.MSFT"])["quotes.MSFT"] == 0
        got_fed, got_direct, ws_direct, want = await fed_and_direct(ws_fed, direct, rec)
        assert got_direct == want
        # each channel in order; channels on different shards interleave freely
        assert per_channel(got_fed) == per_channel(want)
        assert len(got_fed) == len(want)
        # a fresh client gets the last value first, read from its shard
        ws = await connect(fed.url("/v2/iex"))
        await recv(ws)
        await auth(ws, "demo", "demo")
        await subscribe(ws, quotes=["AAPL"])
        last = [e for e in want if json.loads(e)["T"] == "q" and json.loads(e)["S"] == "AAPL"]
        assert split_array(await recv(ws, 5)) == [last[-1]]
        # a wildcard cannot be served from sharded channels: said once, not faked
        await subscribe(ws, trades=["*"])
        fed.wait_for_log(r"trades=\* is not served from a cluster")
        for w in (ws, ws_fed, ws_direct):
            await w.close()

    run(scenario(), timeout=60)
    deadline = time.monotonic() + 5  # the last client gone: SUNSUBSCRIBEd
    while max(shard_numsub(cluster, subs).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert max(shard_numsub(cluster, subs).values()) == 0


def migrate_slot(cluster, key, dst, move_key=False, pause=0.0):
    """Moves key's slot to primary dst as redis-cli --cluster reshard does:
    IMPORTING/MIGRATING, MIGRATE the key if move_key (commands for it then get
    ASK), `pause` seconds, then SETSLOT NODE on every primary (MOVED)."""
    slot, src = cluster.keyslot(key), cluster.owner(key)
    s, d = cluster.node(src).client(), cluster.node(dst).client()
    sid, did = s.execute_command("CLUSTER", "MYID"), d.execute_command("CLUSTER", "MYID")
    d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
    s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", did)
    if move_key:
        s.execute_command("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", key)
    time.sleep(pause)
    for port in [dst, src] + [p for _, _, p, _ in cluster.slots() if p not in (src, dst)]:
        cluster.node(port).client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", did)


def test_slots_moved_under_load_moved_and_ask_followed(tickerd, cluster, tmp_path):
    chan, hkey = "quotes.AAPL", "last:quotes"
    primaries = sorted({p for _, _, p, _ in cluster.slots()})
    to_chan = next(p for p in primaries if p != cluster.owner(chan))
    to_hash = next(p for p in primaries if p != cluster.owner(hkey))
    coll = ShardedCollector(cluster, [chan]).start()
    try:
        rec = tmp_path / "sim.jsonl"
        sim = tickerd.sim(record=rec, rate=1000, count=6000, symbols=len(SYMBOLS), batch=10)
        run = start_run(tickerd, sim, cluster, listen=True)
        coll.wait_count(100, timeout=15)
        migrate_slot(cluster, hkey, to_hash, move_key=True, pause=0.5)  # HSETs meanwhile: ASK
        migrate_slot(cluster, chan, to_chan)  # SPUBLISH: MOVED
        assert (cluster.owner(chan), cluster.owner(hkey)) == (to_chan, to_hash)
        wait_sim_done(sim, 6000, timeout=30)
        want = expected_for(read_record(rec), [chan])[chan]
        got = [data for _, data in coll.wait_quiet(1.0)]
        it = iter(want)  # the subscriber misses what came while it moved; nothing else
        assert all(ev in it for ev in got) and got[-1] == want[-1]
        m = metrics(run)
        assert (m["redis_published_total"], m["redis_dropped_total"]) == (sent_events(m), 0)
        assert m['redis_redirects_total{kind="moved"}'] >= 1
        assert m['redis_redirects_total{kind="ask"}'] >= 1
        assert cluster.node(to_hash).client().hget(hkey, "AAPL") == want[-1]
    finally:
        coll.stop()


def test_primary_killed_replica_promoted_publishing_resumes(tickerd, cluster, tmp_path):
    victim = cluster.owner("quotes.AAPL")
    on_victim = [ch for ch in CHANNELS if cluster.owner(ch) == victim]
    replica = next(rs for _, _, p, rs in cluster.slots() if p == victim)[0]
    coll = ShardedCollector(cluster, CHANNELS).start()
    try:
        rec = tmp_path / "sim.jsonl"
        sim = tickerd.sim(record=rec, rate=1000, count=7000, symbols=len(SYMBOLS), batch=10)
        run = start_run(tickerd, sim, cluster, listen=True, redis_history=100000)
        run.wait_for_log(r"slot map: 3 primaries")
        n_before = len(coll.wait_count(300, timeout=15))
        cluster.node(victim).kill()
        # tickerd notices, follows the promoted replica and publishes again
        run.wait_for_log(rf"topology changed: 3 primaries \([^)]*127\.0\.0\.1:{replica}", timeout=20)
        cluster.wait_ok(timeout=20, primaries=3)
        assert cluster.owner("quotes.AAPL") == replica
        gen = coll.generation
        coll.wait_subscribed(timeout=10, after_gen=gen - 1)
        wait_sim_done(sim, 7000, timeout=40)
        got = group_by_channel(coll.wait_quiet(1.0))
        want = expected_for(read_record(rec), CHANNELS)
        for ch in CHANNELS:  # other shards: everything; the victim's: the end at least
            g, w = got.get(ch, []), want[ch]
            if ch not in on_victim:
                assert g == w, f"{ch}: {len(g)} received, {len(w)} sent"
                continue
            assert g and g[-1] == w[-1], f"{ch}: the last events did not arrive"
            it = iter(w)
            assert all(ev in it for ev in g), f"{ch}: received out of order or unknown events"
        # the history streams (history:{<channel>}) follow their shard too; while
        # the cluster says CLUSTERDOWN (until the promotion) every shard refuses
        # XADD, though SPUBLISH goes on (cluster-allow-pubsubshard-when-down):
        # each stream misses that window, in order otherwise, up to the end
        for ch in CHANNELS:
            node = cluster.node(cluster.owner(ch)).client()
            h, w = [f[b"e"] for _, f in node.xrange("history:{" + ch + "}")], want[ch]
            it = iter(w)
            assert h and h[-1] == w[-1] and all(ev in it for ev in h), f"history of {ch}"
            assert len(h) > len(w) // 2, f"history of {ch}: {len(h)} of {len(w)}"
        assert sum(len(v) for v in got.values()) > n_before
        m = metrics(run)
        assert settled(m)
        assert m["redis_master_switches_total"] >= 1
        assert m["redis_up"] == 1
    finally:
        coll.stop()


def test_no_node_answers_is_one_line_and_retried(tickerd):
    sim = tickerd.sim(rate=200, symbols=2)
    dead = ",".join(f"127.0.0.1:{free_port()}" for _ in range(2))
    run = start_run(tickerd, sim, None, redis=f"redis+cluster://user:s3cr3tpw@{dead}", listen=True)
    run.wait_for_log(r"no cluster node answers \(127\.0\.0\.1:\d+: cannot connect", timeout=10)
    time.sleep(1.5)  # still retrying, every seed in turn, without repeating the line
    assert run.count_log("no cluster node answers") == 1
    assert run.poll() is None and b"s3cr3tpw" not in run.stderr()
    assert metrics(run)["redis_up"] == 0


def test_password_protected_cluster(tickerd, tmp_path):
    c = RedisCluster(tmp_path / "cluster", primaries=3, replicas=0, requirepass="s3cr3tpw")
    try:
        c.start()
        rec = tmp_path / "sim.jsonl"
        sim = tickerd.sim(record=rec, rate=2000, count=1000, symbols=len(SYMBOLS), batch=10)
        run = start_run(tickerd, sim, None, redis=c.url.replace("//", "//:s3cr3tpw@"),
                        listen=True)
        wait_sim_done(sim, 1000)
        quotes = expected_for(read_record(rec), ["quotes.AAPL"])["quotes.AAPL"]
        deadline = time.monotonic() + 10
        owner = c.node(c.owner("last:quotes")).client()
        while owner.hget("last:quotes", "AAPL") != quotes[-1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert owner.hget("last:quotes", "AAPL") == quotes[-1]
        while time.monotonic() < deadline and not settled(metrics(run)):
            time.sleep(0.05)  # the last replies are read within a few ms
        m = metrics(run)
        assert (m["redis_published_total"], m["redis_dropped_total"]) == (sent_events(m), 0)
        assert b"s3cr3tpw" not in run.stderr()
    finally:
        c.stop()
