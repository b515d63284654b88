# SPDX-License-Identifier: Apache-2.0
"""Refill after upstream outages: the sim streams minute bars from the same
deterministic source its REST history serves (--bar-seconds compresses a
minute to a second), drops tickerd every 3 s, and tickerd fetches each
outage's bars from the REST history. The history streams must then hold
every bar the sim has exactly once (the refilled ones marked), each outage
gives a "pending" notice then a "done" one for the same window, and the
REST calls stay under the sim's rate limit. A plan without history
(--hist-forbidden) gives "impossible" with the exact window."""
import json
import re
import time
import urllib.request

from test_gap_notices import ns

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
SYMS = ["AAPL", "MSFT", "TSLA"]
STEP = 1_000_000_000  # --bar-seconds 1


def rest_bars(sim, t0, t1, syms=SYMS, path="/v2/stocks/bars", keys=True):
    """The sim's REST bars of syms with starts in [t0, t1] (ns), in one call."""
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t // STEP))  # noqa: E731
    url = (f"http://127.0.0.1:{sim.port}{path}?symbols={','.join(syms)}"
           f"&timeframe=1Min&start={fmt(t0)}&end={fmt(t1)}&limit=10000")
    hdrs = {"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "s3cr3t"} if keys else {}
    req = urllib.request.Request(url, headers=hdrs)
    with urllib.request.urlopen(req, timeout=5) as r:
        body = json.load(r)
    assert body["next_page_token"] is None
    return body["bars"]


def notices_of(coll):
    return [json.loads(d) for ch, d in coll.messages if ch == "tickerd.gaps"]


def start(tickerd, redis, sim, refill_delay=0.3, stream="/v2/iex", syms=SYMS, **extra):
    return tickerd.run(url=[sim.url(stream)], env=KEYS, redis=redis.url, redis_history=100000,
                       subscribe="bars=" + ",".join(syms), backoff_min=0.6, backoff_max=0.9,
                       refill_bar_seconds=1, refill_delay=refill_delay, **extra)


def test_every_bar_exactly_once_after_drops(tickerd, redis, redis_collector, tmp_path):
    bars_exactly_once(tickerd, redis, redis_collector, tmp_path, "/v2/iex", SYMS,
                      "/v2/stocks/bars")


def test_crypto_bars_exactly_once_after_drops(tickerd, redis, redis_collector, tmp_path):
    """The same for pairs: the sim's crypto stream sends the history's bars
    and the refill fetches /v1beta3/crypto/us/bars (which needs no key)."""
    syms = ["BTC/USD", "ETH/USD"]
    bars_exactly_once(tickerd, redis, redis_collector, tmp_path, "/v1beta3/crypto/us", syms,
                      "/v1beta3/crypto/us/bars")


def bars_exactly_once(tickerd, redis, redis_collector, tmp_path, stream, syms, rest_path):
    calls = tmp_path / "calls.jsonl"
    sim = tickerd.sim(rate=200, symbols=8, drop_every=3, bar_seconds=1, record_calls=calls,
                      alpaca_rate="3/2")
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    # the refill waits past the next live bar: its history entries must
    # still come before it
    run = start(tickerd, redis, sim, refill_rate="2/2", refill_delay=1.2, stream=stream,
                syms=syms)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        done = [n for n in notices_of(coll) if n["refill"] != "pending"]
        if len(done) >= 4:
            break
        time.sleep(0.2)
    notices = notices_of(coll)
    run.stop()
    pending = [n for n in notices if n["refill"] == "pending"]
    final = [n for n in notices if n["refill"] != "pending"]
    assert len(final) >= 4, run.describe()
    # one pending notice, then one final notice, per outage: same window
    for p, f in zip(pending, final):
        assert (p["from"], p["to"]) == (f["from"], f["to"])
        assert p["kinds"] == f["kinds"] == ["bars"] and f["symbols"] == syms
        assert f["refill"] == "done" and f["lost"] == 0, f
    assert notices.index(final[0]) > notices.index(pending[0])
    windows = [(ns(f["from"]), ns(f["to"])) for f in final]
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))

    # the refill's REST calls: under the sim's limit, never throttled
    lines = [json.loads(x) for x in calls.read_text().splitlines()]
    ours = [c for c in lines if c["path"] == rest_path]
    assert len(ours) >= len(final)
    assert not [c for c in ours if c["outcome"] != "ok"], ours
    ts = [c["t"] for c in ours]
    assert all(b - a >= 2_000_000_000 for a, b in zip(ts, ts[2:]))  # 2 per 2 s at most

    r = redis.client()
    cutoff = windows[-1][1] - 2 * STEP  # every bar before this is final
    refilled_total = 0
    time.sleep(2.1)  # the sim's window (3 per 2 s) is ours again
    entries = {sym: [f for _, f in r.xrange(f"history:bars.{sym}") if b"e" in f] for sym in syms}
    t_first = min(ns(json.loads(f[b"e"])["t"]) for fs in entries.values() for f in fs)
    rest = rest_bars(sim, t_first, cutoff, syms, rest_path)
    if "crypto" in rest_path:  # no key needed, and the same bars without one
        assert rest_bars(sim, t_first, cutoff, syms, rest_path, keys=False) == rest
    for sym in syms:
        bars = [(json.loads(f[b"e"]), f.get(b"r")) for f in entries[sym]]
        live = [ns(b["t"]) for b, mark in bars if mark is None]
        assert live == sorted(live) and len(set(live)) == len(live)
        # in order per symbol, the refilled bars among the live ones
        order = [ns(b["t"]) for b, _ in bars]
        assert order == sorted(order), f"{sym}: history out of order"
        for b, mark in bars:  # a refilled bar is marked in the JSON and in the entry
            assert (mark == b"1") == (b.get("refilled") is True), (sym, b, mark)
        refilled_total += sum(1 for _, mark in bars if mark == b"1")
        got = {}
        for b, _ in bars:
            t = ns(b["t"])
            assert t not in got, f"{sym}: bar {b['t']} twice"
            got[t] = {k: v for k, v in b.items() if k not in ("T", "S", "refilled")}
        t0 = min(got)
        want = {ns(b["t"]): b for b in rest[sym] if ns(b["t"]) >= t0}
        assert len(want) >= 8
        have = {t: b for t, b in got.items() if t <= cutoff}
        missing = sorted(set(want) - set(have))
        assert not missing, f"{sym}: {len(missing)} bars missing, first {missing[:3]}"
        assert set(have) == set(want)
        for t in want:
            assert have[t] == want[t], (sym, t)
    assert refilled_total >= 1  # drops cost bars, which came back refilled


def test_forbidden_history_is_impossible_with_the_window(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=8, drop_every=2, bar_seconds=1, hist_forbidden=True)
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    run = start(tickerd, redis, sim)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if [n for n in notices_of(coll) if n["refill"] not in ("pending",)]:
            break
        time.sleep(0.2)
    run.wait_for_log(r"refill .*: impossible", timeout=5)
    notices = notices_of(coll)
    assert run.poll() is None  # still serving
    run.stop()
    pending, final = notices[0], notices[1]
    assert pending["refill"] == "pending" and final["refill"] == "impossible", notices
    assert (pending["from"], pending["to"]) == (final["from"], final["to"])
    assert final["lost"] is None and "403" in final["reason"]
    assert ns(final["from"]) < ns(final["to"]) < ns(final["from"]) + 5_000_000_000
    r = redis.client()
    assert not [f for sym in SYMS for _, f in r.xrange(f"history:bars.{sym}") if b"r" in f]


def rest_ticks(sim, word, syms, t0, t1, base="/v2/stocks", raw=False):
    """The sim's REST trades or quotes of syms with t in [t0, t1] (ns); raw:
    the body's bytes too."""
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // STEP)) + \
        f".{t % STEP:09d}Z"  # noqa: E731
    url = (f"http://127.0.0.1:{sim.port}{base}/{word}?symbols={','.join(syms)}"
           f"&start={fmt(t0)}&end={fmt(t1)}&limit=10000")
    req = urllib.request.Request(url, headers={"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"})
    with urllib.request.urlopen(req, timeout=5) as r:
        text = r.read()
    body = json.loads(text)
    assert body["next_page_token"] is None
    return (body[word], text) if raw else body[word]


def test_trades_and_quotes_refilled_exactly_once(tickerd, redis, redis_collector):
    ticks_exactly_once(tickerd, redis, redis_collector, "/v2/iex", "/v2/stocks",
                       (("trades", "AAPL", ("t", "i")), ("trades", "MSFT", ("t", "i")),
                        ("quotes", "AAPL", ("t",))))


def test_crypto_trades_and_quotes_refilled_exactly_once(tickerd, redis, redis_collector):
    """Pairs: the outages' trades and quotes come back from
    /v1beta3/crypto/us/trades|quotes (no key needed), each refilled event
    the streamed one's bytes plus "refilled":true."""
    ticks_exactly_once(tickerd, redis, redis_collector, "/v1beta3/crypto/us", "/v1beta3/crypto/us",
                       (("trades", "BTC/USD", ("t", "i")), ("trades", "ETH/USD", ("t", "i")),
                        ("quotes", "BTC/USD", ("t",)), ("quotes", "ETH/USD", ("t",))),
                       exact_bytes=True)


def ticks_exactly_once(tickerd, redis, redis_collector, stream, base, subs, exact_bytes=False):
    """Stream + refill of subs ((word, sym, dedupe key), ...) is the sim's
    REST record, each once, in order."""
    sim = tickerd.sim(rate=300, symbols=8, drop_every=3, bar_seconds=1)
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    words = {w: sorted({s for x, s, _ in subs if x == w}) for w in ("trades", "quotes")}
    syms = sorted({s for _, s, _ in subs})
    run = tickerd.run(url=[sim.url(stream)], env=KEYS, redis=redis.url, redis_history=100000,
                      subscribe=";".join(f"{w}={','.join(v)}" for w, v in words.items()),
                      backoff_min=0.6, backoff_max=0.9, refill="trades,quotes",
                      refill_delay=0.3)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        if len([n for n in notices_of(coll) if n["refill"] != "pending"]) >= 3:
            break
        time.sleep(0.2)
    notices = notices_of(coll)
    run.stop()
    final = [n for n in notices if n["refill"] != "pending"]
    assert len(final) >= 3, run.describe()
    for n in notices:
        assert n["kinds"] == ["trades", "quotes"] and n["symbols"] == syms, n
    assert all(f["refill"] == "done" for f in final), final
    assert len(notices) == 2 * len(final) or len(notices) == 2 * len(final) + 1
    cutoff = ns(final[-1]["to"])
    r = redis.client()
    refilled = 0
    for word, sym, key in subs:
        entries = [f for _, f in r.xrange(f"history:{word}.{sym}") if b"e" in f]
        evs = [(json.loads(f[b"e"]), f.get(b"r")) for f in entries]
        refilled += sum(1 for _, m in evs if m == b"1")
        order = [ns(e["t"]) for e, _ in evs]
        assert order == sorted(order), f"{word}.{sym}: history out of order"
        got = {}
        for e, m in evs:
            assert (m == b"1") == (e.get("refilled") is True)
            k = tuple(e[x] for x in key)
            assert k not in got, f"{word}.{sym}: {k} twice"
            got[k] = {x: v for x, v in e.items() if x not in ("T", "S", "refilled")}
        t0 = min(ns(e["t"]) for e, _ in evs)
        recs, text = rest_ticks(sim, word, [sym], t0, cutoff, base, raw=True)
        want = {tuple(x[k] for k in key): x for x in recs.get(sym, [])}
        have = {k: v for k, v in got.items() if ns(v["t"]) <= cutoff}
        assert len(want) > 50
        missing = sorted(set(want) - set(have))
        assert not missing, f"{word}.{sym}: {len(missing)} missing, first {missing[:2]}"
        assert have == want
        if exact_bytes:  # the streamed event is T, S and the record; refilled: + the mark
            raw = re.findall(rb"\{[^{}]*\}", text[text.index(b"[") + 1:text.rindex(b"]")])
            assert len(raw) == len(want)
            head = b'{"T":"%s","S":"%s",' % (word[0].encode(), sym.encode())
            ok = {head + x[1:] for x in raw}
            ok |= {head + x[1:-1] + b',"refilled":true}' for x in raw}
            kept = [f[b"e"] for f in entries if ns(json.loads(f[b"e"])["t"]) <= cutoff]
            assert len(kept) == len(raw) and all(e in ok for e in kept), (word, sym)
    assert refilled > 0


def test_polygon_bars_refilled_from_aggregates(tickerd, redis, redis_collector):
    """The same on a Polygon upstream: AM bars streamed from the aggregates'
    source, the outage refilled from /v2/aggs/ticker/.../range/1/minute."""
    sim = tickerd.sim(rate=200, symbols=8, drop_every=3, bar_seconds=1)
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    run = tickerd.run(feed="polygon", url=[sim.url("/stocks")], env={"POLYGON_API_KEY": "pk"},
                      redis=redis.url, redis_history=100000, subscribe="bars=AAPL,MSFT",
                      backoff_min=0.6, backoff_max=0.9, refill_bar_seconds=1, refill_delay=0.3)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len([n for n in notices_of(coll) if n["refill"] != "pending"]) >= 3:
            break
        time.sleep(0.2)
    notices = notices_of(coll)
    run.stop()
    final = [n for n in notices if n["refill"] != "pending"]
    assert len(final) >= 3 and all(f["refill"] == "done" for f in final), run.describe()
    cutoff = ns(final[-1]["to"]) - 2 * STEP
    r = redis.client()
    refilled = 0
    for sym in ("AAPL", "MSFT"):
        evs = [(json.loads(f[b"e"]), f.get(b"r")) for _, f in r.xrange(f"history:bars.{sym}")
               if b"e" in f]
        refilled += sum(1 for _, m in evs if m == b"1")
        starts = [e["s"] for e, _ in evs]
        assert len(starts) == len(set(starts)), f"{sym}: a bar twice"
        have = {e["s"]: (e["o"], e["h"], e["l"], e["c"], e["v"]) for e, _ in evs
                if e["s"] * 1_000_000 <= cutoff}
        url = (f"http://127.0.0.1:{sim.port}/v2/aggs/ticker/{sym}/range/1/minute/"
               f"{min(starts)}/{cutoff // 1_000_000}?apiKey=pk&limit=50000")
        with urllib.request.urlopen(url, timeout=5) as resp:
            rest = json.load(resp)["results"]
        want = {b["t"]: (b["o"], b["h"], b["l"], b["c"], b["v"]) for b in rest}
        assert len(want) >= 8
        assert have == want, f"{sym}: missing {sorted(set(want) - set(have))[:3]}"
    assert refilled > 0


def rest_v3(sim, word, sym, t0, t1):
    """The sim's Polygon /v3 trades or quotes of sym with t in [t0, t1] (ns),
    following next_url."""
    url = (f"http://127.0.0.1:{sim.port}/v3/{word}/{sym}?timestamp.gte={t0}"
           f"&timestamp.lte={t1}&limit=7&order=asc&sort=timestamp")
    out = []
    for _ in range(10000):
        with urllib.request.urlopen(url + ("&" if "?" in url else "?") + "apiKey=pk",
                                    timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "OK"
        out += body["results"]
        if not body.get("next_url"):
            return out
        url = body["next_url"]
    raise AssertionError("next_url never ends")


def test_polygon_trades_and_quotes_refilled_exactly_once(tickerd, redis, redis_collector, tmp_path):
    """Polygon: the outages' trades and quotes come back from /v3/trades and
    /v3/quotes, converted to the stream's T and Q events: stream + refill
    is exactly the sim's record, each once, in order."""
    sim = tickerd.sim(rate=300, symbols=8, drop_every=3, bar_seconds=1,
                      record_calls=tmp_path / "calls.jsonl")
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    run = tickerd.run(feed="polygon", url=[sim.url("/stocks")], env={"POLYGON_API_KEY": "pk"},
                      redis=redis.url, redis_history=100000,
                      subscribe="trades=AAPL,MSFT;quotes=AAPL", backoff_min=0.6,
                      backoff_max=0.9, refill="trades,quotes", refill_delay=0.3)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        if len([n for n in notices_of(coll) if n["refill"] != "pending"]) >= 3:
            break
        time.sleep(0.2)
    notices = notices_of(coll)
    run.stop()
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert {c["path"] for c in calls} == {"/v3/trades/AAPL", "/v3/trades/MSFT", "/v3/quotes/AAPL"}
    assert all(c["outcome"] == "ok" and int(c["query"]["timestamp.gte"]) <
               int(c["query"]["timestamp.lt"]) for c in calls), calls
    final = [n for n in notices if n["refill"] != "pending"]
    assert len(final) >= 3, run.describe()
    assert all(f["refill"] == "done" for f in final), final
    cutoff = ns(final[-1]["to"])
    r = redis.client()
    refilled = 0
    to_stream = {
        "trades": {"exchange": "x", "id": "i", "tape": "z", "price": "p", "size": "s",
                   "conditions": "c", "sequence_number": "q", "trf_id": "trfi"},
        "quotes": {"bid_exchange": "bx", "bid_price": "bp", "bid_size": "bs",
                   "ask_exchange": "ax", "ask_price": "ap", "ask_size": "as",
                   "indicators": "i", "sequence_number": "q", "tape": "z"}}
    for word, sym, ev in (("trades", "AAPL", "T"), ("trades", "MSFT", "T"),
                          ("quotes", "AAPL", "Q")):
        evs = [(json.loads(f[b"e"]), f.get(b"r")) for _, f in r.xrange(f"history:{word}.{sym}")
               if b"e" in f]
        refilled += sum(1 for _, m in evs if m == b"1")
        order = [e["t"] for e, _ in evs]
        assert order == sorted(order), f"{word}.{sym}: history out of order"
        key = (lambda e: (e["t"], e["i"])) if word == "trades" else (lambda e: (e["t"], e["q"]))
        got = {}
        for e, m in evs:
            assert e["ev"] == ev and e["sym"] == sym
            assert (m == b"1") == (e.get("refilled") is True)
            assert key(e) not in got, f"{word}.{sym}: {key(e)} twice"
            got[key(e)] = {k: v for k, v in e.items() if k not in ("ev", "sym", "refilled")}
        t0 = min(order) * 1_000_000
        want = {}
        for x in rest_v3(sim, word, sym, t0, cutoff):
            e = {to_stream[word][k]: v for k, v in x.items() if k in to_stream[word]}
            e["t"] = x["sip_timestamp"] // 1_000_000
            if "trf_timestamp" in x:
                e["trft"] = x["trf_timestamp"] // 1_000_000
            if word == "quotes":
                e["c"] = x["conditions"][0]
            want[key(e)] = e
        have = {k: v for k, v in got.items() if v["t"] * 1_000_000 <= cutoff}
        assert len(want) > 50
        missing = sorted(set(want) - set(have))
        assert not missing, f"{word}.{sym}: {len(missing)} missing, first {missing[:2]}"
        assert have == want
    assert refilled > 0
