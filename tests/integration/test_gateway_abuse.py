# SPDX-License-Identifier: Apache-2.0
"""The gateway against hostile clients: deeply nested JSON from
unauthenticated clients must not stall the loop for an authenticated one
(Alpaca and Polygon paths), unauthenticated message floods are closed with a
bounded number of log lines, an authenticated client that keeps erroring is
closed, a NUL inside a credential never authenticates (JSON and
MessagePack), binary frames on a JSON session and invalid UTF-8 are
refused, wrong-secret attempts from one address are slowed down, and
pipelined requests for static files are all answered."""

import asyncio
import base64
import json
import os
import socket
import struct
import time

import websockets

from simclient import (AUTHENTICATED, CONNECTED, auth, connect, error_frame, expect_closed, recv,
                       run)
from test_gateway import authed, start
from test_gateway_polygon import start as start_polygon
from test_sim_polygon import AUTH_OK
from test_sim_polygon import CONNECTED as P_CONNECTED

NESTED = "[" * 32000 + "]" * 32000


async def http_latency(port, path="/healthz"):
    """Seconds for one GET on a fresh connection (asyncio, so the event loop
    that measures the subscriber is not blocked)."""
    t0 = time.monotonic()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    body = await asyncio.wait_for(r.read(), 15)
    w.close()
    assert body.startswith(b"HTTP/1.1 "), body[:60]
    return time.monotonic() - t0


async def measure(gw, ws, seconds):
    """Frames received by ws in `seconds`, the largest gap between two, and
    the slowest /healthz answer meanwhile."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    stamps, worst = [], [0.0]

    async def poll_health():
        while loop.time() < end:
            worst[0] = max(worst[0], await http_latency(gw.port))
            await asyncio.sleep(0.1)

    health = asyncio.ensure_future(poll_health())
    last = loop.time()
    while loop.time() < end:
        try:
            await asyncio.wait_for(ws.recv(), max(0.01, end - loop.time()))
        except asyncio.TimeoutError:
            break
        stamps.append(loop.time())
    await health
    gaps = [b - a for a, b in zip([last] + stamps, stamps + [end])]
    return len(stamps), max(gaps), worst[0]


async def attacker(url, payload, stop, greeting):
    """Opens unauthenticated connections and sends payload on each, as long
    as the server keeps them open, reconnecting when closed."""
    sent = 0
    while not stop.is_set():
        try:
            ws = await connect(url)
            assert await recv(ws) == greeting
            while not stop.is_set():
                await ws.send(payload)
                sent += 1
                await asyncio.wait_for(ws.recv(), 10)  # its error reply
        except (websockets.ConnectionClosed, asyncio.TimeoutError, OSError):
            await asyncio.sleep(0.01)
    return sent


async def responsiveness(gw, subscriber, path, greeting, seconds=3.0):
    """(frames, max gap, worst /healthz) for the subscriber without, then
    with two unauthenticated senders of NESTED on path."""
    await asyncio.sleep(1.0)  # the stream is flowing
    base = await measure(gw, subscriber, seconds)
    stop = asyncio.Event()
    senders = [asyncio.ensure_future(attacker(gw.url(path), NESTED, stop, greeting))
               for _ in range(2)]
    await asyncio.sleep(0.2)
    attacked = await measure(gw, subscriber, seconds)
    stop.set()
    sent = await asyncio.gather(*senders)
    assert sum(sent) >= 2, sent
    return base, attacked


def check_responsive(base, attacked):
    (n0, gap0, h0), (n1, gap1, h1) = base, attacked
    print(f"without: {n0} frames, max gap {gap0:.3f}s, /healthz {h0:.3f}s; "
          f"with: {n1} frames, max gap {gap1:.3f}s, /healthz {h1:.3f}s")
    assert n1 >= 0.5 * n0, (base, attacked)
    assert gap1 < gap0 + 0.5, (base, attacked)
    assert h1 < max(0.5, 3 * h0), (base, attacked)


def test_nested_json_does_not_stall_alpaca(tickerd):
    sim, gw = start(tickerd, sim=tickerd.sim(rate=400, symbols=10))

    async def go():
        ws = await authed(gw)
        await ws.send(json.dumps({"action": "subscribe", "trades": ["*"], "quotes": ["*"]}))
        return await responsiveness(gw, ws, "/v2/iex", CONNECTED)
    check_responsive(*run(go(), timeout=60))
    assert gw.count_log(r"over the byte budget before authenticating") >= 1


def test_nested_json_does_not_stall_polygon(tickerd):
    sim, gw = start_polygon(tickerd, sim=tickerd.sim(rate=400, symbols=10))

    async def go():
        ws = await connect(gw.url("/stocks"))
        assert await recv(ws) == P_CONNECTED
        await ws.send(json.dumps({"action": "auth", "params": "PKPOLY"}))
        assert await recv(ws) == AUTH_OK
        await ws.send(json.dumps({"action": "subscribe", "params": "T.*,Q.*"}))
        return await responsiveness(gw, ws, "/stocks", P_CONNECTED)
    check_responsive(*run(go(), timeout=60))


def client_lines(gw):
    return [ln for ln in gw.stderr().decode(errors="replace").splitlines() if "client #" in ln]


async def flood(ws, message, n):
    """Sends message n times or until the server closes; returns how many
    were sent and what was received (the closing may be abrupt: a server
    that closes while the client is still sending resets the connection)."""
    sent = 0
    try:
        for _ in range(n):
            await ws.send(message)
            sent += 1
        got = await expect_closed(ws)
    except websockets.ConnectionClosed:
        got = []
    assert ws.closed
    return sent, got


def test_unauthenticated_flood_is_closed_with_few_log_lines(tickerd):
    sim, gw = start(tickerd)

    async def go():
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        sent, got = await flood(ws, '{"action":"subscribe","trades":["AAPL"]}', 50000)
        assert set(got) <= {error_frame(401)}, got[:3]
        # many clients at once: the limit across clients holds
        socks = await asyncio.gather(*[connect(gw.url("/v2/iex")) for _ in range(150)])
        for s in socks:
            await s.send('{"action":"subscribe","trades":["AAPL"]}')
            await s.send('{"action":"subscribe","trades":["AAPL"]}')
        for s in socks:
            await s.close()
        return sent
    sent = run(go(), timeout=60)
    print("sent before the close:", sent)
    time.sleep(0.5)
    assert gw.count_log(r"client #1: over the message budget before authenticating") == 1
    assert gw.count_log(r"client #1 error 401") == 4  # 3 answered, the 4th closes
    # 150 clients * (open, 2 errors, closed) = 600 lines without the limits
    lines = client_lines(gw)
    assert len(lines) <= 130, len(lines)
    assert gw.count_log(r"client #\d+ open") < 100


def test_error_budget_closes_authenticated_client(tickerd):
    sim, gw = start(tickerd)

    async def go():
        ws = await authed(gw)
        sent, got = await flood(ws, '{"action":"subscribe","trades":["A A"]}', 2000)
        assert set(got) <= {error_frame(400)}, got[:3]
        return sent
    print("sent before the close:", run(go()))
    assert gw.count_log(r"client #1 error 400 invalid syntax \(too many errors: closing\)") == 1
    assert gw.count_log(r"client #1 error 400") == 6  # 5 logged, then the closing one


def msgpack_str(b):
    assert len(b) < 32
    return bytes([0xa0 | len(b)]) + b


def msgpack_map(d):
    out = bytes([0x80 | len(d)])
    for k, v in d.items():
        out += msgpack_str(k) + msgpack_str(v)
    return out


def test_nul_in_credentials_never_authenticates(tickerd):
    sim, gw = start(tickerd)

    async def go():
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"auth","key":"demo\\u0000junk","secret":"demo\\u0000junk"}')
        assert await expect_closed(ws) == [error_frame(402)]
        ws = await websockets.connect(gw.url("/v2/iex"), open_timeout=5, close_timeout=2,
                                      extra_headers={"Content-Type": "application/msgpack"})
        assert isinstance(await recv(ws), bytes)  # connected
        await ws.send(msgpack_map({b"action": b"auth", b"key": b"demo\0junk",
                                   b"secret": b"demo\0junk"}))
        got = await expect_closed(ws)
        assert len(got) == 1 and b"auth failed" in got[0] and b"authenticated" not in got[0]
        # the same keys without the junk do authenticate (the test is not vacuous)
        ws = await websockets.connect(gw.url("/v2/iex"), open_timeout=5, close_timeout=2,
                                      extra_headers={"Content-Type": "application/msgpack"})
        await recv(ws)
        await ws.send(msgpack_map({b"action": b"auth", b"key": b"demo", b"secret": b"demo"}))
        assert b"authenticated" in await recv(ws)
        await ws.close()
    run(go())


def raw_ws(port, path):
    """A handshaken WebSocket on a raw socket, to send what libraries refuse."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def send_frame(s, opcode, payload):
    mask = os.urandom(4)
    assert len(payload) < 126
    s.sendall(struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def read_frames(s, timeout=5.0):
    """(opcode, payload) of each frame until the server closes."""
    s.settimeout(timeout)
    data, frames = b"", []
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    while len(data) >= 2:
        op, n = data[0] & 0x0f, data[1] & 0x7f
        off = 2
        if n == 126:
            n, off = struct.unpack("!H", data[2:4])[0], 4
        frames.append((op, data[off:off + n]))
        data = data[off + n:]
    return frames


def test_binary_frame_and_bad_utf8_refused(tickerd):
    sim, gw = start(tickerd)
    s = raw_ws(gw.port, "/v2/iex")
    send_frame(s, 0x2, b'{"action":"auth","key":"demo","secret":"demo"}')  # binary, JSON session
    time.sleep(0.3)
    send_frame(s, 0x1, b'{"action":"auth","key":"demo\xff","secret":"demo"}')  # not UTF-8
    time.sleep(0.3)
    send_frame(s, 0x8, struct.pack("!H", 1000))
    frames = read_frames(s)
    s.close()
    texts = [p.decode(errors="replace") for op, p in frames if op == 0x1]
    assert texts == [CONNECTED, error_frame(400), error_frame(400)], frames


def test_wrong_secrets_are_slowed_down(tickerd):
    sim, gw = start(tickerd)

    async def attempt(secret):
        ws = await connect(gw.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        t0 = time.monotonic()
        reply = await auth(ws, "demo", secret)
        took = time.monotonic() - t0
        await ws.close()
        return reply, took

    async def go():
        took = []
        for i in range(10):
            reply, t = await attempt(f"wrong{i}")
            assert reply == error_frame(402)
            took.append(t)
        reply, last = await attempt("demo")  # the right secret still works, later
        assert reply == AUTHENTICATED
        return took, last
    took, last = run(go(), timeout=60)
    print("answer times:", [round(t, 3) for t in took], round(last, 3))
    assert max(took[:5]) < 0.5, took
    assert sum(took) >= 1.0, took  # 0.1 + 0.2 + 0.4 + 0.8 s held back at least
    assert took[-1] >= 0.5, took
    assert last >= 0.5, last
    assert gw.count_log(r"failed auths from 127\.0\.0\.1: its auths are now slowed down") >= 1


def test_pipelined_static_files_all_answered(tickerd, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    page = "<!doctype html><title>board</title>" + "x" * 3000
    (web / "index.html").write_text(page)
    sim, gw = start(tickerd, web_root=web)
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    n = 201
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    data, deadline = b"", time.monotonic() + 15
    while data.count(page.encode()) < n and time.monotonic() < deadline:
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.count(b"HTTP/1.1 200 OK") == n, data.count(b"HTTP/1.1 ")
    assert data.count(page.encode()) == n
