# SPDX-License-Identifier: Apache-2.0
"""Gap notices: every upstream outage of a stream that had been streaming
gives one JSON notice on tickerd.gaps (and, with --redis-history, in the
history stream of each channel it concerns), a counter per upstream in
/metrics, and every event the sim sent that did not arrive lies in one of
the windows the notices give."""
import asyncio
import json
import signal
import time
import urllib.request

from harness import free_port, read_record

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
CHANNELS = ("trades.AAPL", "trades.MSFT", "quotes.AAPL", "quotes.MSFT")
SLACK_NS = 250_000_000  # frames the sim had queued but not yet written before the last read


def ns(text):
    """RFC 3339 (UTC, 'Z', up to 9 fraction digits) to ns since the epoch."""
    import calendar
    base, _, frac = text.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_one_notice_per_drop_covering_every_lost_event(tickerd, redis, redis_collector,
                                                       tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=400, symbols=4, drop_every=2)
    coll = redis_collector(redis, channels=CHANNELS + ("tickerd.gaps",))
    url = sim.url("/v2/iex")
    run = tickerd.run(url=[url], env=KEYS, redis=redis.url, redis_history=100000,
                      subscribe="trades=AAPL,MSFT;quotes=AAPL,MSFT", backoff_min=0.2,
                      backoff_max=0.4)
    deadline = time.monotonic() + 30
    notices = []
    while len(notices) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        notices = [d for ch, d in coll.messages if ch == "tickerd.gaps"]
    assert len(notices) >= 3, run.describe()
    run.stop()
    time.sleep(0.5)  # the sim's record is flushed every tick
    notices = [d for ch, d in coll.messages if ch == "tickerd.gaps"]

    windows = []
    for raw in notices:
        n = json.loads(raw)
        assert n["type"] == "gap" and n["feed"] == url
        assert n["kinds"] == ["trades", "quotes"] and n["symbols"] == ["AAPL", "MSFT"]
        assert n["refill"] == "impossible" and n["lost"] is None
        assert n["reason"]
        lo, hi = ns(n["from"]), ns(n["to"])
        assert lo < hi < lo + 5_000_000_000
        windows.append((lo, hi))
    assert windows == sorted(windows)
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))  # one notice per outage

    # every event sent before the last resume either arrived or lies in a window
    got = {d for ch, d in coll.messages if ch != "tickerd.gaps"}
    sent = [ev for ev in read_record(rec)
            if f"{'trades' if json.loads(ev)['T'] == 't' else 'quotes'}.{json.loads(ev)['S']}"
            in CHANNELS and json.loads(ev)["T"] in "tq"]
    sent = [ev for ev in sent if ns(json.loads(ev)["t"]) < windows[-1][1]]
    lost = [ns(json.loads(ev)["t"]) for ev in sent if ev not in got]
    assert len(sent) > 500
    outside = [t for t in lost if not any(lo - SLACK_NS <= t <= hi for lo, hi in windows)]
    assert outside == []

    # the notices are in the history of each channel, in order, between its events
    r = redis.client()
    for ch in CHANNELS:
        entries = r.xrange(f"history:{ch}")
        gs = [f[b"g"] for _, f in entries if b"g" in f]
        assert gs == notices
        for i, (_, f) in enumerate(entries):
            if b"g" in f and i + 1 < len(entries) and b"e" in entries[i + 1][1]:
                nxt = ns(json.loads(entries[i + 1][1][b"e"])["t"])
                assert nxt >= ns(json.loads(f[b"g"])["from"])


def test_gap_counter_in_metrics(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=2, drop_every=1)
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    mport = free_port()
    url = sim.url("/v2/iex")
    tickerd.run(url=[url], env=KEYS, redis=redis.url, subscribe="quotes=AAPL",
                backoff_min=0.1, backoff_max=0.2, metrics_listen=f"127.0.0.1:{mport}")
    deadline = time.monotonic() + 20
    while len(coll.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(coll.messages) >= 2
    lines = metric(mport, "tickerd_upstream_gaps_total")
    assert len(lines) == 1 and f'url="{url}"' in lines[0]
    count = int(lines[0].split()[-1])
    assert count >= len(coll.messages) >= 2
    assert redis.client().keys("history:*") == []  # no history: only the channel


def test_a_mute_upstream_gives_a_notice_naming_the_watchdog(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=300, symbols=3, stall=4)
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url,
                      subscribe="quotes=*", ping_interval=0.5, ping_timeout=0.5,
                      conn_limit_backoff=1)  # the sim still holds the stalled connection
    run.wait_for_log(r"watchdog: no data and no pong", timeout=15)
    got = coll.wait_count(1, timeout=15)
    n = json.loads(got[0][1])
    assert "watchdog" in n["reason"] and n["symbols"] == "*" and n["kinds"] == ["quotes"]
    # the window starts at the last bytes received, before the silence
    assert ns(n["to"]) - ns(n["from"]) >= 1_000_000_000


def test_redis_outage_with_drops_gives_a_notice_with_the_count(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=6000, symbols=5)
    coll = redis_collector(redis, channels=("tickerd.gaps", "quotes.AAPL"))
    mport = free_port()
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url, redis_buffer=1,
                      subscribe="quotes=*;trades=*", metrics_listen=f"127.0.0.1:{mport}")
    coll.wait_count(20, timeout=15)
    gen = coll.generation
    redis.stop()
    run.wait_for_log(r"buffer full", timeout=15)
    # tickerd publishes the notice as soon as it is back on Redis: hold it
    # until the collector has subscribed again, or the notice may go out to
    # nobody (pub/sub keeps nothing)
    run.signal(signal.SIGSTOP)
    try:
        redis.start()
        coll.wait_subscribed(timeout=15, after_gen=gen)
    finally:
        run.signal(signal.SIGCONT)
    deadline = time.monotonic() + 15
    notices = []
    while not notices and time.monotonic() < deadline:
        time.sleep(0.05)
        notices = [d for ch, d in coll.messages if ch == "tickerd.gaps"]
    assert len(notices) == 1, run.describe()
    n = json.loads(notices[0])
    assert n["feed"] == redis.url and n["symbols"] == "*" and n["refill"] == "impossible"
    dropped = [line for line in metric_lines(mport) if line.startswith("tickerd_redis_dropped_total ")]
    assert n["lost"] == int(dropped[0].split()[1]) > 0
    assert ns(n["from"]) < ns(n["to"])
    assert [line for line in metric_lines(mport)
            if line.startswith("tickerd_redis_gaps_total ")] == ["tickerd_redis_gaps_total 1"]


def metric_lines(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode().splitlines()


def test_gateway_clients_that_opted_in_get_the_notice(tickerd):
    from simclient import open_authed, recv, run as arun, subscribe
    sim = tickerd.sim(rate=200, symbols=3, drop_every=2)
    url = sim.url("/v2/iex")
    gw = tickerd.run(url=[url], env=KEYS, listen=True, client=["demo:demo"],
                     backoff_min=0.1, backoff_max=0.2)

    async def scenario():
        want = await open_authed(gw.url("/v2/iex"), "demo", "demo")
        other = await open_authed(gw.url("/v2/iex"), "demo", "demo")
        conf = json.loads(await subscribe(want, quotes=["AAPL"], gaps=True))[0]
        assert conf["T"] == "subscription" and conf["quotes"] == ["AAPL"]
        assert json.loads(await subscribe(other, quotes=["AAPL"]))[0]["T"] == "subscription"

        async def gaps_of(ws, seconds):
            found, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    frame = await recv(ws, max(0.05, end - time.monotonic()))
                except Exception:
                    break
                found += [m for m in json.loads(frame) if m.get("T") == "gap"]
            return found

        mine, theirs = await asyncio.gather(gaps_of(want, 8), gaps_of(other, 8))
        await want.close()
        await other.close()
        return mine, theirs

    mine, theirs = arun(scenario(), timeout=30)
    assert len(mine) >= 2 and theirs == []
    for n in mine:
        assert set(n) == {"T", "feed", "from", "to", "kinds", "symbols", "refill", "lost", "reason"}
        assert n["feed"] == url and n["kinds"] == ["quotes"] and n["symbols"] == ["AAPL"]
        assert ns(n["from"]) < ns(n["to"])


def test_polygon_gateway_clients_opt_in_with_gaps_true(tickerd):
    """The Polygon dialect's form: "gaps":true on a subscribe; notices come
    as status "gap" with the same fields; clients that did not ask get none."""
    import websockets
    from simclient import recv, run as arun
    sim = tickerd.sim(rate=200, symbols=3, drop_every=2)
    url = sim.url("/stocks")
    gw = tickerd.run(feed="polygon", url=[url], env={"POLYGON_API_KEY": "PKVENDOR"}, listen=True,
                     client=["PKPOLY:x"], backoff_min=0.1, backoff_max=0.2)

    async def authed():
        ws = await websockets.connect(gw.url("/stocks"), max_size=None, ping_interval=None,
                                      open_timeout=5, close_timeout=2)
        assert json.loads(await recv(ws))[0]["status"] == "connected"
        await ws.send('{"action":"auth","params":"PKPOLY"}')
        assert json.loads(await recv(ws))[0]["status"] == "auth_success"
        return ws

    async def scenario():
        want, other = await authed(), await authed()
        await want.send('{"action":"subscribe","params":"T.AAPL","gaps":true}')
        await other.send('{"action":"subscribe","params":"T.AAPL"}')

        async def gaps_of(ws, seconds):
            found, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    frame = await recv(ws, max(0.05, end - time.monotonic()))
                except Exception:
                    break
                found += [m for m in json.loads(frame)
                          if m.get("ev") == "status" and m.get("status") == "gap"]
            return found

        mine, theirs = await asyncio.gather(gaps_of(want, 8), gaps_of(other, 8))
        await want.close()
        await other.close()
        return mine, theirs

    mine, theirs = arun(scenario(), timeout=30)
    assert len(mine) >= 2 and theirs == []
    for n in mine:
        assert set(n) == {"ev", "status", "message", "feed", "from", "to", "kinds", "symbols",
                          "refill", "lost", "reason"}
        assert n["feed"] == url and n["kinds"] == ["trades"] and n["symbols"] == ["AAPL"]
        assert ns(n["from"]) < ns(n["to"])
