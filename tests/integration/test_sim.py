# SPDX-License-Identifier: Apache-2.0
"""`tickerd sim`, the Alpaca market-data stream simulator, against
PROTOCOLS.md §1: handshake, auth, errors, subscriptions, data, record file,
fragmented client messages and fault injection. Every sim process is checked
at teardown (no sanitizer report, exit 0 on SIGTERM) by the `tickerd` fixture."""

import asyncio
import json
import time

import websockets

import harness
from simclient import (AUTHENTICATED, CONNECTED, CRYPTO_FIELDS, CRYPTO_KEYS, NEWS_FIELDS,
                       RFC3339NANO, STOCK_FIELDS, STOCK_KEYS, auth, collect, connect,
                       error_frame, expect_closed, expect_error, open_authed, pairs, recv,
                       recv_ctl, run, split_array, subscribe)

ALL_STOCK = {k: ["*"] for k in ["trades", "quotes", "bars", "updatedBars", "dailyBars",
                                "statuses", "lulds", "imbalances"]}


# ------------------------------------------------------------ handshake ----

def test_greeting_auth_and_header_auth(tickerd):
    sim = tickerd.sim()

    async def go():
        ws = await connect(sim.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        assert await auth(ws, "PKA", "x") == AUTHENTICATED
        await ws.send('{"action":"auth","key":"PKA","secret":"x"}')
        await expect_error(ws, 403)  # stays open
        assert (await subscribe(ws, trades=["AAPL"])).startswith('[{"T":"subscription"')
        await ws.close()
        # header auth: connected, then authenticated at once
        ws = await connect(sim.url("/v2/iex"), {"APCA-API-KEY-ID": "PKB",
                                                "APCA-API-SECRET-KEY": "S3KRIT-9f2"})
        assert await recv(ws) == CONNECTED
        assert await recv(ws) == AUTHENTICATED
        await ws.send('{"action":"auth","key":"PKB","secret":"S3KRIT-9f2"}')
        await expect_error(ws, 403)
        await ws.close()
    run(go())
    sim.wait_for_log(r"conn #2 authenticated by headers")
    assert b"S3KRIT" not in sim.stderr()


def test_auth_failures_close(tickerd):
    sim = tickerd.sim(key="PKGOOD", secret="right")

    async def go():
        for key, secret in [("PKGOOD", "wrong"), ("PKBAD", "right"), ("", "")]:
            ws = await connect(sim.url("/v2/sip"))
            assert await recv(ws) == CONNECTED
            await ws.send(json.dumps({"action": "auth", "key": key, "secret": secret}))
            assert await expect_closed(ws) == [error_frame(402)]
        ws = await connect(sim.url("/v2/sip"), {"APCA-API-KEY-ID": "PKGOOD",
                                                "APCA-API-SECRET-KEY": "nope"})
        assert await expect_closed(ws) == [CONNECTED, error_frame(402)]
        ws = await open_authed(sim.url("/v2/sip"), "PKGOOD", "right")
        await ws.close()
    run(go())


def test_not_authenticated_and_timeout(tickerd):
    sim = tickerd.sim(auth_timeout=1)

    async def go():
        ws = await connect(sim.url("/v2/iex"))
        t0 = time.monotonic()
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"subscribe","trades":["AAPL"]}')
        await expect_error(ws, 401)
        await ws.send('{"action":"unsubscribe","trades":["AAPL"]}')
        await expect_error(ws, 401)
        assert await expect_closed(ws) == [error_frame(404)]
        assert 0.8 < time.monotonic() - t0 < 3.0
    run(go())


def test_connection_limit_and_insufficient_subscription(tickerd):
    sim = tickerd.sim(max_conns=1, deny_feed=["sip"])

    async def go():
        first = await open_authed(sim.url("/v2/iex"), "PKSAME")
        second = await connect(sim.url("/v2/iex"))
        assert await recv(second) == CONNECTED
        assert await auth(second, "PKSAME") == error_frame(406)
        assert await expect_closed(second) == []
        other = await open_authed(sim.url("/v2/iex"), "PKOTHER")  # per key
        crypto = await open_authed(sim.url("/v1beta3/crypto/us"), "PKSAME")  # per path
        sip = await connect(sim.url("/v2/sip"))
        assert await recv(sip) == CONNECTED
        assert await auth(sip, "PKSIP") == error_frame(409)
        await sip.send('{"action":"subscribe","trades":["AAPL"]}')
        await expect_error(sip, 401)  # still open, not authenticated
        assert (await subscribe(first, quotes=["AMD"])).startswith('[{"T":"subscription"')
        for ws in (first, other, crypto, sip):
            await ws.close()
        # the slot is free again once the first connection is gone
        await asyncio.sleep(0.2)
        again = await open_authed(sim.url("/v2/iex"), "PKSAME")
        await again.close()
    run(go())


def test_unknown_path_is_404(tickerd):
    sim = tickerd.sim()

    async def go():
        try:
            await connect(sim.url("/v2/nope"))
        except websockets.InvalidStatusCode as e:
            return e.status_code
    assert run(go()) == 404


# -------------------------------------------------------- subscriptions ----

def test_subscription_confirmations_exact(tickerd):
    sim = tickerd.sim()

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        got = await subscribe(ws, trades=["AAPL"], quotes=["AMD"], bars=["*"])
        assert got == ('[{"T":"subscription","trades":["AAPL"],"quotes":["AMD"],"bars":["*"],'
                       '"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],'
                       '"imbalances":[],"corrections":["AAPL"],"cancelErrors":["AAPL"]}]')
        assert [k for k, _ in pairs(got)[0]] == ["T"] + STOCK_KEYS
        # additive, sorted, duplicates ignored; Go SDK style nulls and empties
        got = await subscribe(ws, trades=["MSFT", "AAPL"], quotes=None, bars=[], updatedBars=None,
                              dailyBars=[], statuses=None, lulds=[], imbalances=None,
                              cancelErrors=["MSFT"], corrections=["MSFT"], orderbooks=None,
                              news=[])
        obj = json.loads(got)[0]
        assert obj["trades"] == ["AAPL", "MSFT"] and obj["quotes"] == ["AMD"]
        assert obj["corrections"] == obj["cancelErrors"] == ["AAPL", "MSFT"]
        got = await subscribe(ws, "unsubscribe", bars=["*"], trades=["AAPL"])
        assert got == ('[{"T":"subscription","trades":["MSFT"],"quotes":["AMD"],"bars":[],'
                       '"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],'
                       '"imbalances":[],"corrections":["MSFT"],"cancelErrors":["MSFT"]}]')
        await ws.close()
        ws = await open_authed(sim.url("/v1beta3/crypto/us"))
        got = await subscribe(ws, bars=["BTC/USD"])
        assert got == ('[{"T":"subscription","trades":[],"quotes":[],"orderbooks":[],'
                       '"bars":["BTC/USD"],"updatedBars":[],"dailyBars":[]}]')
        assert [k for k, _ in pairs(got)[0]] == ["T"] + CRYPTO_KEYS
        await ws.send('{"action":"subscribe","statuses":["BTC/USD"]}')
        await expect_error(ws, 410)
        await ws.close()
        ws = await open_authed(sim.url("/v1beta1/news"))
        assert await subscribe(ws, news=["*"]) == '[{"T":"subscription","news":["*"]}]'
        await ws.send('{"action":"subscribe","trades":["AAPL"]}')
        await expect_error(ws, 410)
        await ws.close()
    run(go())


def test_invalid_syntax_keeps_connection(tickerd):
    sim = tickerd.sim()

    async def go():
        ws = await open_authed(sim.url("/v2/test"))
        for bad in ['not json', '{"action":"subscribe","trades":["AAPL"]', '{"action":"listen"}',
                    '{"action":"subscribe","trades":[42]}',
                    '{"action":"subscribe","trades":["A B"]}',
                    '{"action":"subscribe","foo":["AAPL"]}', '[]']:
            await ws.send(bad)
            await expect_error(ws, 400)
        await ws.send(b'\x81\x01')  # binary (MessagePack mode is not simulated)
        await expect_error(ws, 400)
        got = await subscribe(ws, quotes=["FAKEPACA"])
        assert json.loads(got)[0]["quotes"] == ["FAKEPACA"]
        await ws.close()
    run(go())


def test_symbol_limit(tickerd):
    sim = tickerd.sim(symbol_limit=3)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        got = await subscribe(ws, trades=["AAPL", "MSFT"], quotes=["AAPL"], bars=["*"])
        assert json.loads(got)[0]["trades"] == ["AAPL", "MSFT"]
        await ws.send('{"action":"subscribe","quotes":["TSLA","NVDA"]}')
        await expect_error(ws, 405)
        got = await subscribe(ws, quotes=["TSLA"])  # unchanged by the refused one
        obj = json.loads(got)[0]
        assert obj["quotes"] == ["AAPL", "TSLA"] and obj["bars"] == ["*"]
        await ws.close()
    run(go())


def test_fragmented_and_oversized_messages(tickerd):
    sim = tickerd.sim()

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        # (symbols the generator does not have, so no data interleaves)
        await ws.send(['{"action":"subsc', 'ribe","trades":["NOSU', 'CH"],', '"quotes":["ZZZZ"]}'])
        obj = json.loads(await recv_ctl(ws))[0]
        assert obj["trades"] == ["NOSUCH"] and obj["quotes"] == ["ZZZZ"]
        # alpaca-py style: 32 KiB fragments; 20000 symbols is about 200 KB
        syms = [f"S{i:05d}" for i in range(20000)]
        text = json.dumps({"action": "subscribe", "quotes": syms})
        await ws.send([text[i:i + 32768] for i in range(0, len(text), 32768)])
        assert len(json.loads(await recv_ctl(ws))[0]["quotes"]) == 20001
        # past 1 MiB the message is refused and the connection survives
        big = json.dumps({"action": "subscribe", "bars": ["X" * 60] * 20000})
        assert len(big) > 1 << 20
        await ws.send([big[i:i + 32768] for i in range(0, len(big), 32768)])
        await expect_error(ws, 400)
        obj = json.loads(await subscribe(ws, "unsubscribe", quotes=syms))[0]
        assert obj["quotes"] == ["ZZZZ"] and obj["bars"] == []
        await ws.close()
    run(go())


# ----------------------------------------------------------------- data ----

def check_event(ev, fields, now):
    pairs_ = pairs(ev)
    keys = [k for k, _ in pairs_]
    assert keys[0] == "T", ev
    obj = dict(pairs_)
    assert sorted(keys) == sorted(fields[obj["T"]] if isinstance(fields, dict) else fields), ev
    for k in ("t", "created_at", "updated_at"):
        if k in obj:
            assert RFC3339NANO.match(obj[k]), ev
    return obj


def test_stock_data_fields_mix_and_record(tickerd, tmp_path):
    rec = tmp_path / "rec.jsonl"
    sim = tickerd.sim(rate=5000, count=3000, batch=7, record=rec)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        await subscribe(ws, **ALL_STOCK)
        frames, events = await collect(ws, 3000, timeout=20)
        await asyncio.sleep(0.3)
        try:
            extra = await recv(ws, 0.3)
        except asyncio.TimeoutError:
            extra = None
        await ws.close()
        return frames, events, extra
    frames, events, extra = run(go())
    assert extra is None and len(events) == 3000
    assert all(1 <= len(split_array(f)) <= 7 for f in frames)
    now = time.time()
    kinds = {}
    for ev in events:
        obj = check_event(ev, STOCK_FIELDS, now)
        kinds[obj["T"]] = kinds.get(obj["T"], 0) + 1
        if obj["T"] in "tq":
            t = obj["t"]
            assert abs(time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
                       - time.timezone - now) < 60
    assert set(kinds) == set("tqbdusl" "icx"), kinds
    assert 0.62 < kinds["q"] / 3000 < 0.78 and 0.19 < kinds["t"] / 3000 < 0.31, kinds
    assert len({json.loads(e)["S"] for e in events}) == 50
    assert any(json.loads(e)["S"] == "BRK.B" for e in events)
    # the record file holds exactly the bytes received, in order
    assert harness.read_record(rec) == [e.encode() for e in events]


def test_subscription_filters_data(tickerd):
    sim = tickerd.sim(rate=4000, symbols=20)

    async def go():
        ws = await open_authed(sim.url("/v2/test"))
        await subscribe(ws, quotes=["FAKEPACA", "AAPL"], trades=["MSFT"])
        _, events = await collect(ws, 60, timeout=15)
        await ws.close()
        return [json.loads(e) for e in events]
    got = {(e["T"], e["S"]) for e in run(go())}
    allowed = {("q", "FAKEPACA"), ("q", "AAPL")} | {(t, "MSFT") for t in "tcx"}
    assert got <= allowed and ("q", "FAKEPACA") in got, got


def test_crypto_and_news_data(tickerd):
    sim = tickerd.sim(rate=3000)

    async def go():
        ws = await open_authed(sim.url("/v1beta3/crypto/us"))
        await subscribe(ws, trades=["*"], quotes=["*"], orderbooks=["*"], bars=["*"],
                        updatedBars=["*"], dailyBars=["*"])
        _, crypto = await collect(ws, 600, timeout=15)
        await ws.close()
        ws = await open_authed(sim.url("/v1beta1/news"))
        await subscribe(ws, news=["*"])
        _, news = await collect(ws, 3, timeout=15)
        await ws.close()
        return crypto, news
    crypto, news = run(go())
    kinds = {check_event(e, CRYPTO_FIELDS, time.time())["T"] for e in crypto}
    assert kinds == set("tqobdu") or kinds >= set("tqo"), kinds
    assert {json.loads(e)["S"] for e in crypto} >= {"BTC/USD", "ETH/USD"}
    for e in crypto:
        obj = json.loads(e)
        if obj["T"] == "t":
            assert isinstance(obj["s"], float) or isinstance(obj["s"], int)
            assert obj["tks"] in ("B", "S") and obj["i"] > 2 ** 61
        if obj["T"] == "o":
            assert obj["r"] is False and all(set(l) == {"p", "s"} for l in obj["b"] + obj["a"])
    for e in news:
        obj = check_event(e, NEWS_FIELDS, time.time())
        assert obj["symbols"] and all(isinstance(s, str) for s in obj["symbols"])
        assert "<p>" in obj["content"] and any(ord(c) > 127 for c in obj["headline"])


# --------------------------------------------------------------- faults ----

def test_malformed_every(tickerd, tmp_path):
    rec = tmp_path / "rec.jsonl"
    sim = tickerd.sim(rate=3000, count=300, batch=10, malformed_every=3, record=rec)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        await subscribe(ws, **ALL_STOCK)
        frames, good = [], []
        while len(good) < 300:
            text = await recv(ws, 10)
            frames.append(text)
            try:
                json.loads(text)
            except ValueError:
                continue
            good += split_array(text)
        await ws.close()
        return frames, good
    frames, good = run(go())
    bad = [i for i, f in enumerate(frames, 1) if not _is_json(f)]
    assert len(frames) >= 9
    assert bad == [i for i in range(1, len(frames) + 1) if i % 3 == 0], bad
    # a malformed frame is a truncated copy of the frame that follows it
    assert all(frames[i].startswith(frames[i - 1]) for i in bad if i < len(frames))
    assert harness.read_record(rec) == [e.encode() for e in good]


def _is_json(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def test_drop_after_and_drop_every(tickerd):
    sim = tickerd.sim(rate=2000, drop_after=25)
    sim2 = tickerd.sim(rate=100, drop_every=1)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        await subscribe(ws, **ALL_STOCK)
        got = await expect_closed(ws, 10)
        n = sum(len(split_array(f)) for f in got)
        ws = await open_authed(sim2.url("/v2/iex"))
        t0 = time.monotonic()
        await subscribe(ws, quotes=["*"])
        await expect_closed(ws, 10)
        return n, time.monotonic() - t0
    n, dt = run(go())
    assert n == 25
    assert 0.7 < dt < 2.5


def test_stall_mutes_and_resumes(tickerd):
    sim = tickerd.sim(rate=500, stall=1.5)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        await subscribe(ws, quotes=["*"])
        await recv(ws)
        t0 = time.monotonic()
        times = []
        pong = None
        while time.monotonic() - t0 < 4.0:
            if pong is None and time.monotonic() - t0 > 1.4:
                pong = await ws.ping()
                done, _ = await asyncio.wait([pong], timeout=0.4)
                assert not done, "pong answered during the stall"
            try:
                await recv(ws, 0.1)
                times.append(time.monotonic() - t0)
            except asyncio.TimeoutError:
                pass
        await asyncio.wait_for(pong, 2)  # answered once the stall is over
        await ws.close()
        return times
    times = run(go())
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) > 1.2, gaps
    assert times[-1] > 3.0


def test_slow_client_gets_407(tickerd):
    sim = tickerd.sim(rate=100000, batch=100, max_pending=1, symbols=5)

    async def go():
        ws = await open_authed(sim.url("/v2/iex"))
        await subscribe(ws, quotes=["*"], trades=["*"])
        await asyncio.sleep(3)  # do not read
        return await expect_closed(ws, 10)
    got = run(go())
    assert got, "no data before the close"
    # the 407 (if it gets through at all) is the last message before the close
    assert error_frame(407) not in got[:-1]
    sim.wait_for_log(r"conn #1 error 407 slow client \(closing\)")
    sim.wait_for_log(r"conn #1 closed")
