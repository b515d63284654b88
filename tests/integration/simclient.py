# SPDX-License-Identifier: Apache-2.0
"""Helpers for talking to `tickerd sim` (the Alpaca stream simulator) with
python3-websockets (asyncio API, websockets 10)."""

import asyncio
import json
import re

import websockets

ERR_TEXT = {
    400: "invalid syntax", 401: "not authenticated", 402: "auth failed",
    403: "already authenticated", 404: "auth timeout", 405: "symbol limit exceeded",
    406: "connection limit exceeded", 407: "slow client", 409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
}

CONNECTED = '[{"T":"success","msg":"connected"}]'
AUTHENTICATED = '[{"T":"success","msg":"authenticated"}]'

STOCK_KEYS = ["trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds",
              "imbalances", "corrections", "cancelErrors"]
CRYPTO_KEYS = ["trades", "quotes", "orderbooks", "bars", "updatedBars", "dailyBars"]

BAR = ["T", "S", "o", "h", "l", "c", "v", "t", "n", "vw"]
STOCK_FIELDS = {
    "t": ["T", "S", "i", "x", "p", "s", "c", "z", "t"],
    "q": ["T", "S", "bx", "bp", "bs", "ax", "ap", "as", "c", "z", "t"],
    "b": BAR, "d": BAR, "u": BAR,
    "s": ["T", "S", "sc", "sm", "rc", "rm", "t", "z"],
    "l": ["T", "S", "u", "d", "i", "t", "z"],
    "i": ["T", "S", "p", "z", "t"],
    "c": ["T", "S", "x", "oi", "op", "os", "oc", "ci", "cp", "cs", "cc", "z", "t"],
    "x": ["T", "S", "i", "x", "p", "s", "a", "z", "t"],
}
CRYPTO_FIELDS = {
    "t": ["T", "S", "p", "s", "t", "i", "tks"],
    "q": ["T", "S", "bp", "bs", "ap", "as", "t"],
    "b": BAR, "d": BAR, "u": BAR,
    "o": ["T", "S", "t", "b", "a", "r"],
}
NEWS_FIELDS = ["T", "id", "headline", "summary", "author", "created_at", "updated_at", "url",
               "content", "symbols", "source"]

RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def connect(url, headers=None):
    return await websockets.connect(url, extra_headers=headers or {}, max_size=None,
                                    ping_interval=None, open_timeout=5, close_timeout=2)


async def recv(ws, timeout=5.0):
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_json(ws, timeout=5.0):
    return json.loads(await recv(ws, timeout))


CONTROL_PREFIXES = ('[{"T":"success"', '[{"T":"error"', '[{"T":"subscription"')


async def recv_ctl(ws, timeout=5.0):
    """The next control message (success, error, subscription), skipping data
    frames that may arrive in between once something is subscribed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await recv(ws, max(0.01, deadline - loop.time()))
        if not isinstance(text, str) or text.startswith(CONTROL_PREFIXES):
            return text


def error_frame(code):
    return '[{"T":"error","code":%d,"msg":"%s"}]' % (code, ERR_TEXT[code])


async def expect_error(ws, code, timeout=5.0):
    text = await recv_ctl(ws, timeout)
    assert text == error_frame(code), text


async def auth(ws, key="PK1", secret="s3cr3t"):
    await ws.send(json.dumps({"action": "auth", "key": key, "secret": secret}))
    return await recv(ws)


async def open_authed(url, key="PK1", secret="s3cr3t"):
    ws = await connect(url)
    assert await recv(ws) == CONNECTED
    assert await auth(ws, key, secret) == AUTHENTICATED
    return ws


async def subscribe(ws, action="subscribe", **lists):
    await ws.send(json.dumps(dict(action=action, **lists)))
    return await recv_ctl(ws)


async def expect_closed(ws, timeout=5.0):
    """Reads (discarding data) until the server closes; returns what was read."""
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(ws.recv(), timeout))
    except websockets.ConnectionClosed:
        return got


def pairs(text):
    """JSON with objects as lists of (key, value) pairs, to check key order."""
    return json.loads(text, object_pairs_hook=list)


def split_array(text):
    """The exact texts of the top-level elements of a JSON array."""
    assert text[0] == "[" and text[-1] == "]", text[:80]
    out, depth, start, in_str, esc = [], 0, None, False, False
    for i in range(1, len(text) - 1):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                out.append(text[start:i + 1])
    return out


async def collect(ws, n, timeout=10.0):
    """Receives data frames until n events arrived; returns (frames, events)
    with events as their exact texts."""
    frames, events = [], []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(events) < n:
        left = deadline - loop.time()
        assert left > 0, f"only {len(events)} of {n} events within {timeout}s"
        text = await recv(ws, left)
        frames.append(text)
        events += split_array(text)
    return frames, events
