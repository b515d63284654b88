# SPDX-License-Identifier: Apache-2.0
"""`tickerd run --feed polygon --listen`: the gateway's Polygon paths
(/stocks /options /forex /crypto) against the simulator upstream. The
greeting, auth with tickerd's keys, one success status per topic and the
error statuses are the simulator's texts; data equals the sim's record;
interest is shared upstream (the sim's log of the subscribe messages it
receives); snapshots; slow clients; the other dialect's paths are refused;
and the Redis-fed gateway serves the Polygon paths too."""

import asyncio
import json
import re
import time

import websockets

from harness import read_record
from simclient import expect_closed, recv, run, split_array
from test_gateway import metric, raw_ws_client
from test_sim_polygon import (AUTH_FAILED, AUTH_OK, AUTH_TIMEOUT, CONNECTED, MAX_CONNECTIONS,
                              connect, ok, status, sub)

KEY = {"POLYGON_API_KEY": "PKVENDOR"}
SYM = {"T": "sym", "Q": "sym", "AM": "sym", "A": "sym", "XT": "pair", "XQ": "pair"}


def start(tickerd, sim=None, urls=("/stocks",), env=KEY, **opts):
    if sim is None:
        sim = tickerd.sim(rate=200, symbols=10)
    opts.setdefault("client", ["PKPOLY:x", "PKTWO:two"])
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("backoff_min", 0.05)
    opts.setdefault("backoff_max", 0.5)
    gw = tickerd.run(feed="polygon", listen=True, url=[sim.url(u) for u in urls], env=env, **opts)
    return sim, gw


async def authed(gw, path="/stocks", key="PKPOLY"):
    ws = await connect(gw.url(path))
    assert await recv(ws) == CONNECTED
    await ws.send(json.dumps({"action": "auth", "params": key}))
    assert await recv(ws) == AUTH_OK
    return ws


def topic(ev):
    o = json.loads(ev)
    return f"{o['ev']}.{o[SYM[o['ev']]]}"


async def data_events(ws, n=None, timeout=10.0, quiet=None):
    """Data events (exact texts), skipping statuses: n of them, or until
    nothing arrives for `quiet` seconds."""
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while n is None or len(got) < n:
        try:
            text = await recv(ws, quiet or max(0.01, deadline - loop.time()))
        except asyncio.TimeoutError:
            if quiet:
                return got
            raise
        got += [e for e in split_array(text) if not e.startswith('{"ev":"status"')]
    return got


def upstream_lines(sim, what):
    return [m.decode() for m in re.findall(rb"conn #\d+ (?:un)?subscribe [^\n]*", sim.stderr())
            if what in m.decode()]


# ------------------------------------------------------------ handshake ----

def test_greeting_auth_and_errors(tickerd):
    sim, gw = start(tickerd, client_auth_timeout=0.5)

    async def go():
        ws = await connect(gw.url("/stocks"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"subscribe","params":"T.AAPL"}')
        assert await recv(ws) == status("error", "not authorized")  # stays open
        # a tickerd key, whatever its secret (Polygon clients send a key only)
        await ws.send('{"action":"auth","params":"PKPOLY"}')
        assert await recv(ws) == AUTH_OK
        await ws.send('{"action":"auth","params":"PKPOLY"}')
        assert await recv(ws) == status("error", "already authenticated")
        for bad, msg in [("not json", "invalid JSON"), ('{"action":"auth"', "invalid JSON"),
                         ("[]", "invalid JSON"), ('{"action":"listen"}', "unknown action: listen"),
                         ('{"action":"subscribe"}', "missing params"),
                         ('{"action":"subscribe","params":"T.SPY,XT.BTC-USD"}',
                          "invalid subscription: XT.BTC-USD"),
                         ('{"action":"subscribe","params":"TSPY"}', "invalid subscription: TSPY")]:
            await ws.send(bad)
            assert await recv(ws) == status("error", msg), bad
        assert await sub(ws, "Q.NOSUCH") == [ok("subscribed", "Q.NOSUCH")]  # still open
        await ws.close()
        # the vendor's key is not valid here; nor is a tickerd secret
        for bad in ['{"action":"auth","params":"PKVENDOR"}', '{"action":"auth","params":"x"}',
                    '{"action":"auth","params":""}', '{"action":"auth"}']:
            ws = await connect(gw.url("/crypto"))
            assert await recv(ws) == CONNECTED
            await ws.send(bad)
            assert await expect_closed(ws) == [AUTH_FAILED]
            assert ws.close_code == 1008
        ws = await connect(gw.url("/forex"))
        t0 = time.monotonic()
        assert await recv(ws) == CONNECTED
        assert await expect_closed(ws) == [AUTH_TIMEOUT]
        assert 0.4 < time.monotonic() - t0 < 3.0
        # the other dialect's paths (and unknown ones) are refused at the upgrade
        for path in ("/v2/iex", "/v1beta3/crypto/us", "/indices"):
            try:
                await connect(gw.url(path))
                raise AssertionError(f"upgrade to {path} succeeded")
            except websockets.InvalidStatusCode as e:
                assert e.status_code == 404
    run(go())
    assert metric(gw, "client_auth_failures_total") == 5
    assert metric(gw, "client_malformed_total") == 7
    gw.wait_for_log(r"refusing upgrade to '/v2/iex' \(404\): not found: the upstream is Polygon")
    assert b"PKVENDOR" not in gw.stderr()


def test_polygon_paths_refused_on_alpaca_gateway(tickerd):
    sim = tickerd.sim()
    gw = tickerd.run(listen=True, url=[sim.url("/v2/iex")], client=["demo:demo"],
                     env={"APCA_API_KEY_ID": "PK", "APCA_API_SECRET_KEY": "s"})

    async def go():
        try:
            await connect(gw.url("/stocks"))
            raise AssertionError("upgrade to /stocks succeeded")
        except websockets.InvalidStatusCode as e:
            return e.status_code
    assert run(go()) == 404
    gw.wait_for_log(r"refusing upgrade to '/stocks' \(404\): not found: the upstream is Alpaca, "
                    r"served on /v2/iex")


def test_max_clients_is_max_connections(tickerd):
    sim, gw = start(tickerd, max_clients=1)

    async def go():
        a = await authed(gw)
        ws = await connect(gw.url("/stocks"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"auth","params":"PKTWO"}')
        assert await expect_closed(ws) == [MAX_CONNECTIONS]
        assert ws.close_code == 1008
        await a.close()
    run(go())


# -------------------------------------------------------- subscriptions ----

def test_statuses_and_data_equal_record(tickerd, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(rate=2000, count=6000, symbols=8, batch=10, record=rec)
    sim, gw = start(tickerd, sim=sim, urls=("/stocks", "/crypto"))
    want = {"T.AAPL", "Q.AAPL", "T.MSFT", "XT.BTC-USD"}

    async def go():
        ws = await authed(gw)
        assert await sub(ws, "T.AAPL, Q.AAPL,T.MSFT") == [
            ok("subscribed", "T.AAPL"), ok("subscribed", "Q.AAPL"), ok("subscribed", "T.MSFT")]
        c = await authed(gw, "/crypto", "PKTWO")
        assert await sub(c, "XT.BTC-USD") == [ok("subscribed", "XT.BTC-USD")]
        sim.wait_for_log(r"--count 6000 reached", timeout=20)
        return (await data_events(ws, quiet=1.5, timeout=30),
                await data_events(c, quiet=1.0, timeout=30))
    got, got_c = run(go(), timeout=60)
    record = [e.decode() for e in read_record(rec)]
    for mine, topics in ((got, want - {"XT.BTC-USD"}), (got_c, {"XT.BTC-USD"})):
        assert mine and {topic(e) for e in mine} == topics
        expect = [e for e in record if topic_or_none(e) in topics]
        k = expect.index(mine[0])  # what the sim sent before the upstream subscribe is not ours
        assert mine == expect[k:]
        assert len(mine) > len(expect) // 2


def topic_or_none(ev):
    o = json.loads(ev)
    return f"{o['ev']}.{o[SYM[o['ev']]]}" if o["ev"] in SYM else None


def test_shared_interest_one_upstream_subscription(tickerd):
    sim, gw = start(tickerd)

    async def go():
        a = await authed(gw)
        b = await authed(gw, key="PKTWO")
        assert await sub(a, "Q.AAPL") == [ok("subscribed", "Q.AAPL")]
        sim.wait_for_log(r"conn #\d+ subscribe Q\.AAPL\n")
        assert await sub(b, "Q.AAPL,T.MSFT") == [ok("subscribed", "Q.AAPL"),
                                                 ok("subscribed", "T.MSFT")]
        sim.wait_for_log(r"conn #\d+ subscribe T\.MSFT\n")
        assert await sub(b, "T.MSFT", "unsubscribe") == [ok("unsubscribed", "T.MSFT")]
        sim.wait_for_log(r"conn #\d+ unsubscribe T\.MSFT\n")
        await a.close()
        await asyncio.sleep(0.5)
        assert len(upstream_lines(sim, "Q.AAPL")) == 1  # b still wants it
        await b.close()
        sim.wait_for_log(r"conn #\d+ unsubscribe Q\.AAPL\n")
        await asyncio.sleep(0.5)
    run(go())
    lines = upstream_lines(sim, "AAPL")
    assert len(lines) == 2 and "unsubscribe" in lines[1], lines
    assert len(upstream_lines(sim, "MSFT")) == 2
    assert not upstream_lines(sim, ".*")


def test_snapshot_then_live(tickerd):
    sim, gw = start(tickerd, sim=tickerd.sim(rate=300, symbols=4))

    async def go():
        a = await authed(gw)
        await sub(a, "T.AAPL,Q.AAPL")
        seen = []
        while not {"T", "Q"} <= {json.loads(e)["ev"] for e in seen}:
            seen += await data_events(a, 1)  # data flowed; the cache is warm
        b = await authed(gw, key="PKTWO")
        assert await sub(b, "Q.AAPL,T.AAPL") == [ok("subscribed", "Q.AAPL"),
                                                 ok("subscribed", "T.AAPL")]
        first = split_array(await recv(b))  # the last values, then live data
        assert [json.loads(e)["ev"] for e in first[:2]] == ["T", "Q"], first
        assert all(json.loads(e)["sym"] == "AAPL" for e in first)
        seen += await data_events(a, 20)
        for ev in first[:2]:
            assert ev in seen, "a snapshot event is not one the stream carried"
        assert {topic(e) for e in await data_events(b, 10)} <= {"T.AAPL", "Q.AAPL"}  # live
        before = metric(gw, "client_snapshots_total")
        c = await authed(gw)
        await sub(c, "Q.*")  # wildcards: no snapshot
        assert metric(gw, "client_snapshots_total") == before
        for w in (a, b, c):
            w.transport.abort()
    run(go())


def test_slow_client_closed_fast_client_complete(tickerd, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(rate=80000, count=320000, symbols=10, batch=50, record=rec)  # ~8 MB of T
    _, gw = start(tickerd, sim=sim, client_buffer_hard=1, client_buffer_soft=0)

    async def go():
        fast = await authed(gw)
        await sub(fast, "T.*")
        sim.wait_for_log(r"subscribe T\.\*")
        slow = raw_ws_client(gw.port, "/stocks", "", "",
                             {"action": "auth", "params": "PKTWO"})
        await asyncio.sleep(0.2)
        slow.sendall(masked({"action": "subscribe", "params": "T.*"}))
        got = await data_events(fast, quiet=2.0, timeout=60)
        slow.close()
        return got
    got = run(go(), timeout=90)
    gw.wait_for_log(r"client #2: \d+ bytes queued, over the hard limit: slow client")
    gw.wait_for_log(r"client #2 error 407 slow client \(closing\)")
    trades = [e.decode() for e in read_record(rec) if e.startswith(b'{"ev":"T",')]
    assert got == trades[trades.index(got[0]):]


def masked(obj):
    import os
    import struct
    payload = json.dumps(obj).encode()
    mask = os.urandom(4)
    return (struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask +
            bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def test_redis_fed_gateway_polygon_paths(tickerd, redis):
    sim = tickerd.sim(rate=500, symbols=6)
    tickerd.run(feed="polygon", url=[sim.url("/stocks")], env=KEY, redis=redis.url,
                subscribe="trades=*;quotes=*", name="direct")
    fed = tickerd.run(feed="polygon", listen=True, source=redis.url, client=["PKPOLY:x"],
                      name="fed")
    fed.wait_for_log(r"redis source \S+: connected")

    async def go():
        ws = await authed(fed)
        assert await sub(ws, "T.AAPL,Q.MSFT") == [ok("subscribed", "T.AAPL"),
                                                 ok("subscribed", "Q.MSFT")]
        got = await data_events(ws, 20, timeout=15)
        await ws.close()
        return got
    got = run(go())
    assert {topic(e) for e in got} == {"T.AAPL", "Q.MSFT"}
