# SPDX-License-Identifier: Apache-2.0
"""`tickerd sim` on the Polygon paths (/stocks /options /forex /crypto)
against PROTOCOLS.md §3: greeting, auth, one status per subscribed topic,
every event type of §3.3 with the spec's field names and types, the record
file, max_connections (evict new / evict old) and fault injection. Every sim
process is checked at teardown (no sanitizer report, exit 0 on SIGTERM)."""

import asyncio
import json
import time

import websockets

import harness
from simclient import collect, expect_closed, pairs, recv, run, split_array

CONNECTED = '[{"ev":"status","status":"connected","message":"Connected Successfully"}]'
AUTH_OK = '[{"ev":"status","status":"auth_success","message":"authenticated"}]'
AUTH_FAILED = '[{"ev":"status","status":"auth_failed","message":"authentication failed"}]'
AUTH_TIMEOUT = ('[{"ev":"status","status":"auth_timeout",'
                '"message":"No authentication request received."}]')
MAX_CONNECTIONS = (
    '[{"ev":"status","status":"max_connections","message":"Maximum number of websocket '
    'connections exceeded. You have reached the connection limit for your account. Please '
    'contact support at https://polygon.io/contact to increase your limit."}]')


def status(st, msg):
    return json.dumps([{"ev": "status", "status": st, "message": msg}], separators=(",", ":"))


def ok(verb, topic):
    return status("success", f"{verb} to: {topic}")


AGG = ["ev", "sym", "v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"]
FIELDS = {
    "/stocks": {
        "T": ["ev", "sym", "x", "i", "z", "p", "s", "c", "t", "q"],
        "Q": ["ev", "sym", "bx", "bp", "bs", "ax", "ap", "as", "c", "i", "t", "q", "z"],
        "A": AGG, "AM": AGG,
        "LULD": ["ev", "T", "h", "l", "i", "z", "t", "q"],
        "NOI": ["ev", "T", "t", "at", "a", "i", "x", "o", "p", "b"],
    },
    "/options": {
        "T": ["ev", "sym", "x", "p", "s", "c", "t", "q"],
        "Q": ["ev", "sym", "bx", "ax", "bp", "ap", "bs", "as", "t", "q"],
        "A": AGG, "AM": AGG,
    },
    "/forex": {
        "C": ["ev", "p", "x", "a", "b", "t"],
        "CA": ["ev", "pair", "o", "c", "h", "l", "v", "s", "e"],
        "CAS": ["ev", "pair", "o", "c", "h", "l", "v", "s", "e"],
    },
    "/crypto": {
        "XT": ["ev", "pair", "p", "t", "s", "c", "i", "x", "r"],
        "XQ": ["ev", "pair", "bp", "bs", "ap", "as", "t", "x", "r"],
        "XA": ["ev", "pair", "v", "vw", "z", "o", "c", "h", "l", "s", "e"],
        "XAS": ["ev", "pair", "v", "vw", "z", "o", "c", "h", "l", "s", "e"],
        "XL2": ["ev", "pair", "t", "r", "x", "b", "a"],
    },
}
OPTIONAL = {("/stocks", "T"): {"trfi", "trft"}}


async def connect(url):
    """Like simclient.connect, with no bound on the client's queue: a queue
    full of unread data would keep websockets from reading the close frame
    (close() then takes its timeouts, 6 s, and reports 1006)."""
    return await websockets.connect(url, max_size=None, max_queue=None, ping_interval=None,
                                    open_timeout=5, close_timeout=2)


async def auth(ws, key="PGKEY"):
    await ws.send(json.dumps({"action": "auth", "params": key}))
    return await recv(ws)


async def open_authed(url, key="PGKEY"):
    ws = await connect(url)
    assert await recv(ws) == CONNECTED
    assert await auth(ws, key) == AUTH_OK
    return ws


async def sub(ws, params, action="subscribe"):
    """Sends the message; returns the status frames, one per topic."""
    await ws.send(json.dumps({"action": action, "params": params}))
    n = len([p for p in params.split(",") if p.strip()])
    return [await recv_status(ws) for _ in range(n)]


async def recv_status(ws, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await recv(ws, max(0.01, deadline - loop.time()))
        if text.startswith('[{"ev":"status"'):
            return text


# ------------------------------------------------------------ handshake ----

def test_greeting_auth_failed_and_timeout(tickerd):
    sim = tickerd.sim(key="PGKEY", auth_timeout=1)

    async def go():
        ws = await open_authed(sim.url("/stocks"))
        await ws.send('{"action":"auth","params":"PGKEY"}')
        assert await recv(ws) == status("error", "already authenticated")
        await ws.close()
        for bad in ['{"action":"auth","params":"WRONG"}', '{"action":"auth","params":""}',
                    '{"action":"auth"}']:
            ws = await connect(sim.url("/crypto"))
            assert await recv(ws) == CONNECTED
            await ws.send(bad)
            assert await expect_closed(ws) == [AUTH_FAILED]
            assert ws.close_code == 1008
        ws = await connect(sim.url("/forex"))
        t0 = time.monotonic()
        assert await recv(ws) == CONNECTED
        assert await expect_closed(ws) == [AUTH_TIMEOUT]
        assert 0.8 < time.monotonic() - t0 < 3.0
    run(go())
    sim.wait_for_log(r"status auth_timeout: No authentication request received\. \(closing\)")


def test_errors_keep_connection(tickerd):
    sim = tickerd.sim()

    async def go():
        ws = await connect(sim.url("/options"))
        assert await recv(ws) == CONNECTED
        await ws.send('{"action":"subscribe","params":"T.*"}')
        assert await recv(ws) == status("error", "not authorized")
        assert await auth(ws) == AUTH_OK
        for bad, msg in [("not json", "invalid JSON"), ('{"action":"auth"', "invalid JSON"),
                         ("[]", "invalid JSON"), ('{"action":"listen"}', "unknown action: listen"),
                         ('{"action":"subscribe"}', "missing params"),
                         ('{"action":"subscribe","params":"T.SPY,XT.BTC-USD"}',
                          "invalid subscription: XT.BTC-USD"),
                         ('{"action":"subscribe","params":"TSPY"}', "invalid subscription: TSPY")]:
            await ws.send(bad)
            assert await recv(ws) == status("error", msg), bad
        assert await sub(ws, "Q.NOSUCH") == [ok("subscribed", "Q.NOSUCH")]
        await ws.close()
    run(go())


def test_unknown_path_is_404(tickerd):
    sim = tickerd.sim()

    async def go():
        try:
            await connect(sim.url("/indices"))
        except websockets.InvalidStatusCode as e:
            return e.status_code
    assert run(go()) == 404


# -------------------------------------------------------- subscriptions ----

def test_one_status_per_topic(tickerd):
    sim = tickerd.sim(symbols=5)

    async def go():
        ws = await open_authed(sim.url("/stocks"))
        # (symbols beyond --symbols 5, so no data interleaves)
        assert await sub(ws, "T.ZZZA,Q.ZZZB,AM.ZZZC") == [
            ok("subscribed", "T.ZZZA"), ok("subscribed", "Q.ZZZB"), ok("subscribed", "AM.ZZZC")]
        assert await sub(ws, "T.ZZZA", "unsubscribe") == [ok("unsubscribed", "T.ZZZA")]
        # whitespace trimmed (PQS), wildcard
        assert await sub(ws, " LULD.ZZZD ,  NOI.ZZZE,A.ZZZF ") == [
            ok("subscribed", "LULD.ZZZD"), ok("subscribed", "NOI.ZZZE"),
            ok("subscribed", "A.ZZZF")]
        await ws.close()
        got = []
        for path, params in [("/crypto", "XT.BTC-USD, XQ.*,XL2.ETH-USD,XA.*,XAS.SOL-USD"),
                             ("/forex", "C.EUR/USD,CA.*, CAS.USD/JPY"),
                             ("/options", "T.O:SPY241220C00520000,Q.*,A.*,AM.*")]:
            ws = await open_authed(sim.url(path))
            got.append(await sub(ws, params))
            await ws.close()
        return got
    crypto, forex, options = run(go())
    assert crypto == [ok("subscribed", t) for t in
                      ["XT.BTC-USD", "XQ.*", "XL2.ETH-USD", "XA.*", "XAS.SOL-USD"]]
    assert forex == [ok("subscribed", t) for t in ["C.EUR/USD", "CA.*", "CAS.USD/JPY"]]
    assert options == [ok("subscribed", t) for t in
                       ["T.O:SPY241220C00520000", "Q.*", "A.*", "AM.*"]]
    sim.wait_for_log(r"conn #1 subscribe T\.ZZZA,Q\.ZZZB,AM\.ZZZC")


def test_subscription_filters_data(tickerd):
    sim = tickerd.sim(rate=5000, symbols=10)

    async def go():
        ws = await open_authed(sim.url("/stocks"))
        await sub(ws, "Q.AAPL,T.MSFT,AM.*")
        _, events = await collect(ws, 100, timeout=15)
        # data queued before the statuses comes before them (skipped by sub)
        await sub(ws, "Q.AAPL,AM.*", "unsubscribe")
        _, later = await collect(ws, 10, timeout=15)
        await ws.close()
        return [json.loads(e) for e in events], [json.loads(e) for e in later]
    events, later = run(go())
    got = {(e["ev"], e["sym"]) for e in events}
    assert {("Q", "AAPL"), ("T", "MSFT")} <= got, got
    assert all(e["ev"] == "AM" or (e["ev"], e["sym"]) in {("Q", "AAPL"), ("T", "MSFT")}
               for e in events), got
    assert {(e["ev"], e["sym"]) for e in later} == {("T", "MSFT")}


# ----------------------------------------------------------------- data ----

ALL = {"/stocks": "T.*,Q.*,A.*,AM.*,LULD.*,NOI.*", "/options": "T.*,Q.*,A.*,AM.*",
       "/forex": "C.*,CA.*,CAS.*", "/crypto": "XT.*,XQ.*,XA.*,XAS.*,XL2.*"}


def check_types(path, o, now_ms):
    ev = o["ev"]
    num = (int, float)
    if ev in ("T", "Q", "C", "XT", "XQ", "XL2"):
        assert isinstance(o["t"], int) and abs(o["t"] - now_ms) < 60000, o
    if "s" in o and "e" in o:
        assert o["e"] - o["s"] in (1000, 60000) and abs(o["e"] - now_ms) < 61000, o
    if ev == "LULD":
        assert abs(o["t"] // 1000 - now_ms) < 60000 and isinstance(o["i"], list), o
    if ev == "NOI":
        assert abs(o["t"] // 1000000 - now_ms) < 60000 and o["a"] in "OMHC", o
        assert all(isinstance(o[k], int) for k in ("at", "i", "x", "o", "p")), o
    if path == "/stocks" and ev == "T":
        assert isinstance(o["i"], str) and o["z"] in (1, 2, 3), o
    if ev in ("T", "XT"):
        assert isinstance(o["c"], list) and all(isinstance(c, int) for c in o["c"]), o
        assert isinstance(o["x"], int) and isinstance(o["p"], num), o
    if ev == "XT":
        assert isinstance(o["i"], int) and isinstance(o["r"], int), o
    if ev == "XL2":
        assert all(len(lv) == 2 and all(isinstance(v, num) for v in lv)
                   for lv in o["b"] + o["a"]), o
    if path == "/options":
        assert o["sym"].startswith("O:") and len(o["sym"]) >= 17, o
    if path == "/forex":
        assert "/" in (o.get("p") if ev == "C" else o["pair"]), o
    if path == "/crypto":
        assert "-" in o["pair"], o


def test_data_every_type_per_cluster(tickerd):
    sim = tickerd.sim(rate=20000, batch=20)
    want = {"/stocks": 3000, "/options": 1000, "/forex": 600, "/crypto": 1000}

    async def go():
        out = {}
        for path, n in want.items():
            ws = await open_authed(sim.url(path))
            await sub(ws, ALL[path])
            _, out[path] = await collect(ws, n, timeout=15)
            await ws.close()
        return out
    got = run(go())
    now_ms = time.time() * 1000
    for path, events in got.items():
        seen = set()
        for text in events:
            kv = pairs(text)
            keys = [k for k, _ in kv]
            assert keys[0] == "ev", text
            o = dict(kv)
            fields = FIELDS[path][o["ev"]]
            extra = set(keys) - set(fields)
            assert set(fields) <= set(keys) and extra <= OPTIONAL.get((path, o["ev"]), set()), text
            check_types(path, o, now_ms)
            seen.add(o["ev"])
        assert seen == set(FIELDS[path]), (path, seen)
    syms = {json.loads(e)["sym"] for e in got["/stocks"] if "sym" in json.loads(e)}
    assert {"AAPL", "BRK.B"} <= syms
    assert {json.loads(e)["pair"] for e in got["/crypto"]} >= {"BTC-USD", "ETH-USD"}
    assert {json.loads(e).get("p") for e in got["/forex"]} >= {"EUR/USD"}


def test_record_equals_received(tickerd, tmp_path):
    rec = tmp_path / "rec.jsonl"
    sim = tickerd.sim(rate=5000, count=1500, batch=7, record=rec)

    async def go():
        ws = await open_authed(sim.url("/crypto"))
        await sub(ws, ALL["/crypto"])
        frames, events = await collect(ws, 1500, timeout=15)
        try:
            extra = await recv(ws, 0.5)
        except asyncio.TimeoutError:
            extra = None
        await ws.close()
        return frames, events, extra
    frames, events, extra = run(go())
    assert extra is None and len(events) == 1500
    assert all(1 <= len(split_array(f)) <= 7 for f in frames)
    assert harness.read_record(rec) == [e.encode() for e in events]


def test_same_seed_same_walk(tickerd):
    sims = [tickerd.sim(rate=3000, count=300, seed=7) for _ in range(2)]

    async def one(sim):
        ws = await open_authed(sim.url("/forex"))
        await sub(ws, "C.*")
        _, events = await collect(ws, 200, timeout=10)
        await ws.close()
        return [{k: v for k, v in json.loads(e).items() if k != "t"} for e in events[:200]]

    async def go():
        return [await one(s) for s in sims]
    a, b = run(go())
    assert a == b


# ---------------------------------------------------- max_connections ----

def test_max_connections_evict_new(tickerd):
    sim = tickerd.sim(rate=2000, max_conns=1)

    async def go():
        old = await open_authed(sim.url("/stocks"), "PGSAME")
        await sub(old, "Q.*")
        other = await open_authed(sim.url("/crypto"), "PGSAME")  # per cluster
        new = await open_authed(sim.url("/stocks"), "PGSAME")
        assert await sub(new, "T.AAPL,Q.MSFT") == [ok("subscribed", "T.AAPL"),
                                                   ok("subscribed", "Q.MSFT")]
        assert await expect_closed(new) == [MAX_CONNECTIONS]
        assert new.close_code == 1008
        _, events = await collect(old, 50, timeout=5)  # the old one keeps streaming
        assert all(json.loads(e)["ev"] == "Q" for e in events)
        # a connection that never subscribes is evicted a second after auth
        idle = await open_authed(sim.url("/stocks"), "PGSAME")
        t0 = time.monotonic()
        assert await expect_closed(idle) == [MAX_CONNECTIONS]
        assert 0.7 < time.monotonic() - t0 < 3
        _, events = await collect(old, 20, timeout=5)
        for ws in (old, other):
            await ws.close()
    run(go())
    sim.wait_for_log(r"evicting the new one after its subscription \(--polygon-evict new\)")
    sim.wait_for_log(r"conn #3 over the limit: max_connections")


def test_max_connections_evict_old(tickerd):
    sim = tickerd.sim(rate=2000, max_conns=1, polygon_evict="old")

    async def go():
        old = await open_authed(sim.url("/options"), "PGSAME")
        await sub(old, "Q.*")
        await collect(old, 5, timeout=5)
        new = await open_authed(sim.url("/options"), "PGSAME")
        got = await expect_closed(old)
        assert got[-1] == MAX_CONNECTIONS and old.close_code == 1008
        assert await sub(new, "T.*") == [ok("subscribed", "T.*")]
        _, events = await collect(new, 20, timeout=5)  # the new one stays
        assert all(json.loads(e)["ev"] == "T" for e in events)
        await new.close()
    run(go())
    sim.wait_for_log(r"conn #1 evicted by a newer connection: max_connections")


# --------------------------------------------------------------- faults ----

def test_malformed_every_and_drop_after(tickerd, tmp_path):
    rec = tmp_path / "rec.jsonl"
    sim = tickerd.sim(rate=3000, count=300, batch=10, malformed_every=3, record=rec)
    sim2 = tickerd.sim(rate=2000, drop_after=25)

    async def go():
        ws = await open_authed(sim.url("/stocks"))
        await sub(ws, ALL["/stocks"])
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
        ws = await open_authed(sim2.url("/forex"))
        await sub(ws, "C.*")
        got = await expect_closed(ws, 10)
        return frames, good, sum(len(split_array(f)) for f in got), ws.close_code
    frames, good, n, code = run(go())
    bad = [i for i, f in enumerate(frames, 1) if not _is_json(f)]
    assert len(frames) >= 9 and bad == [i for i in range(1, len(frames) + 1) if i % 3 == 0]
    assert all(frames[i].startswith(frames[i - 1]) for i in bad if i < len(frames))
    assert harness.read_record(rec) == [e.encode() for e in good]
    assert n == 25 and code == 1008


def _is_json(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False
