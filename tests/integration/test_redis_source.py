# SPDX-License-Identifier: Apache-2.0
"""A gateway fed by Redis (`tickerd run --source redis://…`) delivers the same
events as a gateway fed directly by the vendor, subscribing on Redis only to
what its clients want."""
import asyncio
import json
import time

from harness import read_record
from simclient import AUTHENTICATED, CONNECTED, auth, connect, recv, run, split_array, subscribe

KEYS = {"APCA_API_KEY_ID": "PKVENDOR", "APCA_API_SECRET_KEY": "vendor-secret"}
WANT = {"trades": ["AAPL", "MSFT"], "quotes": ["AAPL", "TSLA"]}


def wanted(ev):
    o = json.loads(ev)
    if o["T"] in ("t", "c", "x"):  # corrections and cancel errors come with trades
        return o["S"] in WANT["trades"]
    return o["T"] == "q" and o["S"] in WANT["quotes"]


async def client(gw):
    ws = await connect(gw.url("/v2/iex"))
    assert await recv(ws) == CONNECTED
    assert await auth(ws, "demo", "demo") == AUTHENTICATED
    conf = json.loads(await subscribe(ws, **WANT))[0]
    assert conf["T"] == "subscription" and conf["trades"] == WANT["trades"]
    return ws


async def collect(ws, got, quiet=2.0):
    """Reads data events into `got` (as a reader that keeps up would) until
    nothing arrives for `quiet` seconds."""
    while True:
        try:
            text = await recv(ws, quiet)
        except asyncio.TimeoutError:
            return got
        got += [e for e in split_array(text) if not e.startswith('{"T":"s')]


async def fed_and_direct(ws_fed, direct, rec):
    """What the fed client (already subscribed) and a direct client get
    while the direct one drives the simulator's stream, and what the record
    says they should: (got_fed, got_direct, ws_direct, want)."""
    got_fed, got_direct = [], []
    fed_task = asyncio.create_task(collect(ws_fed, got_fed))
    ws_direct = await client(direct)  # starts the simulator's stream
    await collect(ws_direct, got_direct)
    await fed_task
    want = [ev.decode() for ev in read_record(rec) if wanted(ev)]
    assert len(want) > 300
    return got_fed, got_direct, ws_direct, want


def wait_numsub(r, channels, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(n >= 1 for _, n in r.pubsub_numsub(*channels)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the Redis-fed gateway did not subscribe {channels}")


def test_redis_fed_gateway_matches_direct(tickerd, redis, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=2000, count=3000, symbols=8, batch=20)
    direct = tickerd.run(listen=True, url=[sim.url("/v2/iex")], env=KEYS, client=["demo:demo"],
                         redis=redis.url, name="direct", stats_interval=0.5)
    fed = tickerd.run(listen=True, source=redis.url, client=["demo:demo"], name="fed",
                      stats_interval=0.5)
    fed.wait_for_log(r"redis source \S+: connected")

    async def scenario():
        ws_fed = await client(fed)
        # The fed gateway subscribes Redis to exactly its clients' interest.
        wait_numsub(redis.client(), ["trades.AAPL", "trades.MSFT", "quotes.AAPL", "quotes.TSLA",
                                     "corrections.AAPL", "cancelErrors.MSFT"])
        assert redis.client().pubsub_numsub("quotes.MSFT")[0][1] == 0
        got_fed, got_direct, ws_direct, want = await fed_and_direct(ws_fed, direct, rec)
        assert got_direct == want
        assert got_fed == want
        await ws_fed.close()
        await ws_direct.close()

    run(scenario(), timeout=60)
    # The last client leaving unsubscribes the fed gateway from Redis.
    deadline = time.monotonic() + 5
    while redis.client().pubsub_numsub("trades.AAPL")[0][1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis.client().pubsub_numsub("trades.AAPL")[0][1] == 0


def test_source_option_errors(tickerd, redis):
    r = tickerd.run(source=redis.url, url=["ws://127.0.0.1:1/v2/iex"], wait=False)
    assert r.popen.wait(10) == 2
    assert b"--source and --url exclude each other" in r.stderr()
    r = tickerd.run(source="http://x", listen=True, wait=False)
    assert r.popen.wait(10) == 2
    assert b"unsupported Redis URL" in r.stderr()


def test_bad_messages_on_redis_are_skipped(tickerd, redis):
    """Whatever else publishes on the channels: a message that is not one
    JSON object is counted, logged once and never served; the next good one
    is."""
    fed = tickerd.run(listen=True, source=redis.url, client=["demo:demo"], name="fed")
    fed.wait_for_log(r"redis source \S+: connected")
    good = '{"T":"q","S":"AAPL","bp":1.5,"bs":1,"ap":1.6,"as":2,"t":"2026-11-21T00:00:00Z"}'

    async def scenario():
        ws = await connect(fed.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        assert await auth(ws, "demo", "demo") == AUTHENTICATED
        await subscribe(ws, quotes=["AAPL"])
        wait_numsub(redis.client(), ["quotes.AAPL"])
        r = redis.client()
        for bad in ("not json", '{"T":"q"', '[{"T":"q"}]', "", '{"a":1} {"b":2}', "\xff"):
            r.publish("quotes.AAPL", bad)
        r.publish("quotes.AAPL", good)
        got = split_array(await recv(ws, 5))
        assert got == [good]
        with_more = []
        await collect(ws, with_more, quiet=0.5)
        assert with_more == []
        await ws.close()

    run(scenario(), timeout=30)
    fed.wait_for_log("quotes.AAPL' skipped: not one JSON object")
