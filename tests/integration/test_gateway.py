# SPDX-License-Identifier: Apache-2.0
"""`tickerd run --listen`: the downstream WebSocket gateway in Alpaca's
dialect, against the simulator upstream. Handshake and auth with tickerd's
own keys, confirmations byte for byte (PROTOCOLS.md §1.4), errors 400-410,
snapshots, shared upstream interest (checked in the sim's log of the
subscribe/unsubscribe messages it receives), a slow client cut off with 407
while a fast one loses nothing, and HTTP on the same port."""

import asyncio
import base64
import json
import os
import re
import socket
import struct
import time
import urllib.error
import urllib.request

import websockets

from harness import read_record
from simclient import (AUTHENTICATED, CONNECTED, STOCK_KEYS, auth, connect, error_frame,
                       expect_closed, expect_error, recv, recv_ctl, run, split_array, subscribe)

KEYS = {"APCA_API_KEY_ID": "PKVENDOR", "APCA_API_SECRET_KEY": "vendor-secret"}
DEMO = ("demo", "demo")


def start(tickerd, sim=None, urls=("/v2/iex",), env=KEYS, **opts):
    if sim is None:
        sim = tickerd.sim(rate=200, symbols=10)
    if "client" not in opts:
        opts["client"] = ["demo:demo", "PKTWO:two"]
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("backoff_min", 0.05)
    opts.setdefault("backoff_max", 0.5)
    gw = tickerd.run(listen=True, url=[sim.url(u) for u in urls], env=env, **opts)
    return sim, gw


async def authed(gw, path="/v2/iex", key=DEMO):
    ws = await connect(gw.url(path))
    assert await recv(ws) == CONNECTED
    assert await auth(ws, *key) == AUTHENTICATED
    return ws


def http_get(gw, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.port}{path}", timeout=5) as r:
            return r.status, r.headers.get("content-type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), e.read()


def metric(gw, name):
    _, _, body = http_get(gw, "/metrics")
    m = re.search(rf"^tickerd_{name} (\d+)$".encode(), body, re.M)
    assert m, f"no {name} in /metrics"
    return int(m.group(1))


def confirmation(**lists):
    obj = {"T": "subscription"}
    for k in STOCK_KEYS[:8]:
        obj[k] = lists.get(k, [])
    obj["corrections"] = obj["cancelErrors"] = lists.get("trades", [])
    return "[" + json.dumps(obj, separators=(",", ":")) + "]"


async def data_events(ws, n, timeout=10.0):
    """The next n data events (exact texts), skipping control messages."""
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < n:
        text = await recv(ws, max(0.01, deadline - loop.time()))
        if not text.startswith('[{"T":"s'):  # success/subscription
            got += split_array(text)
    return got


# ------------------------------------------------------------ handshake ----

def test_auth_by_message_headers_and_failures(tickerd):
    sim, gw = start(tickerd)

    async def go():
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"subscribe","trades":["AAPL"]}')
        await expect_error(ws, 401)  # stays open
        assert await auth(ws, "demo", "demo") == AUTHENTICATED
        await ws.send('{"action":"auth","key":"demo","secret":"demo"}')
        await expect_error(ws, 403)
        await ws.close()
        # header auth: connected, then authenticated at once
        ws = await connect(gw.url("/v1beta1/news"), {"APCA-API-KEY-ID": "PKTWO",
                                                     "APCA-API-SECRET-KEY": "two"})
        assert await recv(ws) == CONNECTED
        assert await recv(ws) == AUTHENTICATED
        await ws.close()
        # the vendor's keys are not valid here; bad secrets neither
        for key, secret in [KEYS.values(), ("demo", "two"), ("", "")]:
            ws = await connect(gw.url("/v2/sip"))
            assert await recv(ws) == CONNECTED
            await ws.send(json.dumps({"action": "auth", "key": key, "secret": secret}))
            assert await expect_closed(ws) == [error_frame(402)]
        ws = await connect(gw.url("/v2/iex"), {"APCA-API-KEY-ID": "demo",
                                               "APCA-API-SECRET-KEY": "nope"})
        assert await expect_closed(ws) == [CONNECTED, error_frame(402)]
        # unknown path: plain 404 before the upgrade
        try:
            await connect(gw.url("/v2/nope"))
            raise AssertionError("upgrade to an unknown path succeeded")
        except websockets.InvalidStatusCode as e:
            assert e.status_code == 404
    run(go())
    assert metric(gw, "client_auth_failures_total") == 4
    assert b"vendor-secret" not in gw.stderr()


def test_auth_timeout_and_max_clients(tickerd):
    sim, gw = start(tickerd, client_auth_timeout=0.5, max_clients=2)

    async def go():
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        t0 = time.monotonic()
        assert await expect_closed(ws) == [error_frame(404)]
        assert 0.4 < time.monotonic() - t0 < 3
        a = await authed(gw)
        b = await authed(gw, "/v1beta3/crypto/us", ("PKTWO", "two"))
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"auth","key":"demo","secret":"demo"}')
        assert await expect_closed(ws) == [error_frame(406)]
        await a.close()
        await asyncio.sleep(0.3)
        c = await authed(gw)  # room again
        for w in (b, c):
            await w.close()
    run(go())
    assert metric(gw, "client_rejected_total") == 1


# -------------------------------------------------------- subscriptions ----

def test_confirmations_exact_and_errors(tickerd):
    # symbols the generator does not have, so no data interleaves
    sim, gw = start(tickerd, client_max_symbols=4, client_max_message=4096)

    async def go():
        ws = await authed(gw)
        assert await subscribe(ws, trades=["ZAAPL"], quotes=["ZAMD", "ZCLDR"], bars=["*"],
                               dailyBars=["ZVOO"], statuses=["*"]) == confirmation(
            trades=["ZAAPL"], quotes=["ZAMD", "ZCLDR"], bars=["*"], dailyBars=["ZVOO"],
            statuses=["*"])
        # additive; null and empty lists (the Go SDK) are fine
        assert await subscribe(ws, trades=["ZAAPL"], quotes=None, lulds=[],
                               updatedBars=["ZAMD"]) == confirmation(
            trades=["ZAAPL"], quotes=["ZAMD", "ZCLDR"], bars=["*"], dailyBars=["ZVOO"],
            statuses=["*"], updatedBars=["ZAMD"])
        assert await subscribe(ws, "unsubscribe", bars=["*"], quotes=["ZAMD"],
                               updatedBars=["ZAMD"]) == confirmation(
            trades=["ZAAPL"], quotes=["ZCLDR"], dailyBars=["ZVOO"], statuses=["*"])
        # 405: a 5th distinct symbol; the set is unchanged
        await ws.send('{"action":"subscribe","quotes":["ZA","ZB"]}')
        await expect_error(ws, 405)
        # 410: not a stock channel
        await ws.send('{"action":"subscribe","news":["*"]}')
        await expect_error(ws, 410)
        # 400: malformed, bad symbol, too long (fragmented); the connection stays
        for bad in ["{bad", "[]", '{"action":"dance"}', '{"action":"subscribe","trades":[1]}']:
            await ws.send(bad)
            await expect_error(ws, 400)
        big = json.dumps({"action": "subscribe", "bars": ["Z" * 50] * 100})
        await ws.send([big[i:i + 1000] for i in range(0, len(big), 1000)])
        await expect_error(ws, 400)
        frag = '{"action":"subscribe","trades":["ZB"]}'
        await ws.send([frag[:10], frag[10:20], frag[20:]])
        assert await recv_ctl(ws) == confirmation(
            trades=["ZAAPL", "ZB"], quotes=["ZCLDR"], dailyBars=["ZVOO"], statuses=["*"])
        await ws.close()

        ws = await authed(gw, "/v1beta3/crypto/us")
        assert await subscribe(ws, bars=["ZBTC/USD"]) == (
            '[{"T":"subscription","trades":[],"quotes":[],"orderbooks":[],"bars":["ZBTC/USD"],'
            '"updatedBars":[],"dailyBars":[]}]')
        await ws.send('{"action":"subscribe","statuses":["*"]}')
        await expect_error(ws, 410)
        await ws.close()
        ws = await authed(gw, "/v1beta1/news")
        assert await subscribe(ws, news=["*"]) == '[{"T":"subscription","news":["*"]}]'
        await ws.close()
    run(go())
    assert metric(gw, "client_malformed_total") == 5


def upstream_lines(sim, what):
    return [m.decode() for m in re.findall(rb"conn #\d+ (?:un)?subscribe [^\n]*", sim.stderr())
            if what in m.decode()]


def test_shared_interest_one_upstream_subscription(tickerd):
    sim, gw = start(tickerd, urls=("/v2/iex", "/v1beta1/news"))

    async def go():
        a = await authed(gw)
        b = await authed(gw)
        await subscribe(a, quotes=["AAPL"])
        sim.wait_for_log(r"conn #\d+ subscribe quotes=AAPL\n")
        await subscribe(b, quotes=["AAPL"], trades=["MSFT"])
        sim.wait_for_log(r"conn #\d+ subscribe trades=MSFT\n")
        await a.close()
        await asyncio.sleep(0.5)
        assert upstream_lines(sim, "quotes=AAPL") == [upstream_lines(sim, "quotes=AAPL")[0]]
        await b.close()
        sim.wait_for_log(r"conn #\d+ unsubscribe (trades=MSFT;quotes=AAPL|quotes=AAPL;trades="
                         r"MSFT|trades=MSFT|quotes=AAPL)")
        await asyncio.sleep(0.5)
    run(go())
    lines = upstream_lines(sim, "AAPL")
    assert len(lines) == 2, lines
    assert re.search(r"subscribe quotes=AAPL$", lines[0]) and "unsubscribe" in lines[1], lines
    assert len(upstream_lines(sim, "MSFT")) == 2
    # nothing was subscribed upstream but what clients asked for
    assert not upstream_lines(sim, "=*")


def test_snapshot_then_live(tickerd):
    sim, gw = start(tickerd, sim=tickerd.sim(rate=300, symbols=4))

    async def go():
        a = await authed(gw)
        await subscribe(a, quotes=["*"], trades=["*"])
        seen = []
        while not ({"t", "q"} <= {json.loads(e)["T"] for e in seen if '"S":"AAPL"' in e}):
            seen += await data_events(a, 1)  # data flowed; the cache is warm
        # subscribe by name: the first data is the last value of each (trades first)
        b = await authed(gw)
        await b.send('{"action":"subscribe","quotes":["AAPL"],"trades":["AAPL"]}')
        assert (await recv(b)).startswith('[{"T":"subscription"')
        first = split_array(await recv(b))
        assert [json.loads(e)["T"] for e in first[:2]] == ["t", "q"], first
        assert all(json.loads(e)["S"] == "AAPL" for e in first)
        seen += await data_events(a, 40)
        for ev in first[:2]:
            assert ev in seen, "a snapshot event is not one the stream carried"
        # a wildcard subscriber gets no snapshot unless it asks
        before = metric(gw, "client_snapshots_total")
        c = await authed(gw)
        await subscribe(c, quotes=["*"])
        assert metric(gw, "client_snapshots_total") == before
        await c.send('{"action":"subscribe","bars":["*"],"quotes":["*"],"snapshot":true}')
        await asyncio.sleep(0.2)
        assert metric(gw, "client_snapshots_total") >= before + 4  # 4 symbols' quotes
        for w in (a, b, c):  # unread data: the client would not see the close ack soon
            w.transport.abort()
    run(go())


# ------------------------------------------------------- slow consumers ----

def raw_ws_client(port, path, key, secret, sub):
    """A WebSocket client on a raw socket with a tiny receive buffer that
    sends its subscribe message and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    wskey = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {wskey}\r\n"
               f"Sec-WebSocket-Version: 13\r\nAPCA-API-KEY-ID: {key}\r\n"
               f"APCA-API-SECRET-KEY: {secret}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = json.dumps(sub).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    s.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)
    return s


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def test_slow_client_407_fast_client_complete(tickerd, tmp_path):
    rec = tmp_path / "sim.jsonl"
    count = 240000  # about 60000 trades (+ corrections, cancel errors), 7.5 MB
    sim = tickerd.sim(rate=40000, count=count, symbols=10, batch=50, record=rec)
    asan = "detect_leaks=1:abort_on_error=0:halt_on_error=1:quarantine_size_mb=8"
    _, gw = start(tickerd, sim=sim, client_buffer_hard=1, client_buffer_soft=0,
                  env=dict(KEYS, ASAN_OPTIONS=asan))

    async def go():
        fast = await authed(gw)
        await subscribe(fast, trades=["*"])
        sim.wait_for_log(r"subscribe trades=\*")
        slow = raw_ws_client(gw.port, "/v2/iex", "demo", "demo",
                             {"action": "subscribe", "trades": ["*"]})
        # never reads either, but only quotes: conflated, never cut off
        lazy = raw_ws_client(gw.port, "/v2/iex", "demo", "demo",
                             {"action": "subscribe", "quotes": ["*"]})
        frames, events = [], []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            try:
                text = await recv(fast, 2.0)
            except asyncio.TimeoutError:
                if b"--count" in sim.stderr():
                    break
                continue
            if text.startswith("[{\"T\":\"s"):
                continue
            frames.append(text)
            events += split_array(text)
        await fast.close()
        return slow, lazy, frames, events
    slow, lazy, frames, events = run(go(), timeout=90)
    gw.wait_for_log(r"client #2: \d+ bytes queued, over the hard limit: slow client")
    # the slow client: told (if it ever reads) and closed
    slow.settimeout(5)
    tail = b""
    try:
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            tail += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    slow.close()
    gw.wait_for_log(r"client #2 closed")
    gw.wait_for_log(r"client #2 error 407 slow client \(closing\)")
    assert metric(gw, "client_slow_disconnects_total") == 1
    assert metric(gw, "client_conflated_total") > 1000
    assert b"client #3 closed" not in gw.stderr()
    lazy.close()
    assert rss_kb(gw.pid) < 400_000, "tickerd's memory grew with a client that does not read"
    # the fast one got every event the sim sent, in order, batched
    record = [e.decode() for e in read_record(rec) if json.loads(e)["T"] in "tcx"]
    assert len(record) >= count * 0.2
    assert events == record, f"{len(events)} received, {len(record)} sent"
    assert max(len(split_array(f)) for f in frames) > 1, "events were not batched"


# --------------------------------------------------------------- HTTP ----

def test_http_health_metrics_and_static(tickerd, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>board</title>")
    (web / "app.js").write_text("console.log(1)")
    sim, gw = start(tickerd, web_root=web)
    gw.wait_for_log(r"upstream 1/1 streaming")
    status, ctype, body = http_get(gw, "/healthz")
    assert status == 200 and ctype == "application/json", body
    h = json.loads(body)
    assert h["status"] == "ok" and h["upstreams"][0]["state"] == "streaming"
    status, ctype, body = http_get(gw, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    for name in ["events_in_total{kind=\"quotes\"}", "events_out_total{kind=\"trades\"}",
                 "clients ", "client_queued_bytes", "client_conflated_total",
                 "client_slow_disconnects_total", "upstream_reconnects_total{url=",
                 "upstream_subscription_messages_total{url="]:
        assert f"tickerd_{name}".encode() in body, name
    assert http_get(gw, "/") == (200, "text/html; charset=utf-8",
                                 b"<!doctype html><title>board</title>")
    assert http_get(gw, "/app.js")[1].startswith("text/javascript")
    assert http_get(gw, "/nope.html")[0] == 404
    assert http_get(gw, "/../etc/passwd")[0] in (400, 403, 404)
    sim.stop()
    time.sleep(0.5)
    status, _, body = http_get(gw, "/healthz")
    assert status == 503 and json.loads(body)["status"] == "degraded"


def test_client_keys_from_config_file(tickerd, tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text("[run]\nstats-interval = 1\n\n[clients]\nPKCONF = conf-secret\n")
    sim, gw = start(tickerd, config=conf, client=None)

    async def go():
        ws = await authed(gw, key=("PKCONF", "conf-secret"))
        await ws.close()
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"auth","key":"demo","secret":"demo"}')
        assert await expect_closed(ws) == [error_frame(402)]
    run(go())
    assert b"visible to other users" not in gw.stderr()


def test_soft_limit_held_too_long(tickerd):
    sim = tickerd.sim(rate=40000, count=200000, symbols=10, batch=50)
    _, gw = start(tickerd, sim=sim, client_buffer_hard=64, client_buffer_soft=1,
                  client_buffer_soft_seconds=0.5)
    slow = raw_ws_client(gw.port, "/v2/iex", "demo", "demo",
                         {"action": "subscribe", "trades": ["*"]})
    try:
        m = gw.wait_for_log(r"client #1: (\d+) bytes queued, over the soft limit: slow client",
                            timeout=20)
        assert int(m.group(1)) < 64 << 20
        gw.wait_for_log(r"client #1 error 407 slow client \(closing\)")
        gw.wait_for_log(r"client #1 closed", timeout=5)
    finally:
        slow.close()
    assert metric(gw, "client_slow_disconnects_total") == 1


def test_msgpack_client(tickerd):
    msgpack = __import__("pytest").importorskip("msgpack")
    sim, gw = start(tickerd, sim=tickerd.sim(rate=300, symbols=4))

    async def go():
        js = await authed(gw)
        await subscribe(js, quotes=["AAPL"], trades=["AAPL"])
        ws = await websockets.connect(gw.url("/v2/iex"), ping_interval=None, max_size=None,
                                      extra_headers={"Content-Type": "application/msgpack"})
        first = await recv(ws)
        assert isinstance(first, bytes)
        assert msgpack.unpackb(first) == [{"T": "success", "msg": "connected"}]
        await ws.send(msgpack.packb({"action": "auth", "key": "demo", "secret": "demo"}))
        assert msgpack.unpackb(await recv(ws)) == [{"T": "success", "msg": "authenticated"}]
        await ws.send(b"\xc1garbage")
        assert msgpack.unpackb(await recv(ws)) == [
            {"T": "error", "code": 400, "msg": "invalid syntax"}]
        await ws.send(msgpack.packb({"action": "subscribe", "quotes": ["AAPL"],
                                     "trades": ["AAPL"]}))
        conf = msgpack.unpackb(await recv(ws))
        assert conf[0]["T"] == "subscription" and conf[0]["quotes"] == ["AAPL"]
        n = 0
        while n < 20:
            frame = msgpack.unpackb(await recv(ws))
            for ev in frame:
                assert list(ev)[0] == "T" and ev["S"] == "AAPL"
                assert isinstance(ev["t"], msgpack.Timestamp)
                n += 1
        ws.transport.abort()
        js.transport.abort()
    run(go())


def test_upstream_plan_symbol_limit(tickerd):
    """Client interest beyond the plan's symbol limit waits instead of making
    the vendor refuse the whole subscription (405); it goes upstream as soon
    as a symbol is released."""
    sim, gw = start(tickerd, sim=tickerd.sim(rate=200, symbols=10, symbol_limit=3),
                    upstream_max_symbols=3)

    async def go():
        a = await authed(gw)
        await subscribe(a, quotes=["AAPL", "MSFT", "TSLA", "NVDA"], trades=["AAPL"])
        sim.wait_for_log(r"conn #\d+ subscribe ")
        gw.wait_for_log(r"limit of 3 symbols is reached: 1 subscription\(s\) left out")
        first = upstream_lines(sim, "subscribe")
        # the set is sorted: AAPL, MSFT, NVDA fit; TSLA waits
        assert len(first) == 1 and first[0].endswith("quotes=AAPL,MSFT,NVDA"), first
        await subscribe(a, "unsubscribe", quotes=["MSFT"])
        sim.wait_for_log(r"conn #\d+ subscribe quotes=TSLA\n")
        sim.wait_for_log(r"conn #\d+ unsubscribe quotes=MSFT\n")
        await a.close()
    run(go())
    # neither the vendor (sim) nor tickerd saw a 405 (not a timestamp's digits)
    assert not re.search(rb"\b405\b (symbol|error)|symbol limit exceeded", sim.stderr())
    assert b"symbol limit exceeded" not in gw.stderr()
