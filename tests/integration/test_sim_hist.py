# SPDX-License-Identifier: Apache-2.0
"""`tickerd sim` history REST (issue 6 item 6): Alpaca bars v2 (PROTOCOLS.md
§2), Polygon aggregates (§4) and the grid server: shapes, pagination to the
end without duplicates, deterministic values, multi-symbol pages, invalid
symbols, auth, 429 with headers, injected 5xx, latency, --record-calls."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

AUTH = {"APCA-API-KEY-ID": "K", "APCA-API-SECRET-KEY": "S"}
DAY = "start=2022-04-11T00:00:00Z&end=2022-04-11T23:59:59Z"


def fetch(url, headers=None):
    """(status, headers, body)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def alpaca(sim, path, query, headers=AUTH):
    return fetch(f"http://127.0.0.1:{sim.port}{path}?{query}", headers)


def walk_alpaca(sim, path, query):
    pages, token = [], None
    while True:
        q = query + (f"&page_token={urllib.parse.quote(token)}" if token else "")
        st, _, body = alpaca(sim, path, q)
        assert st == 200, body
        pages.append(body)
        token = body["next_page_token"]
        if token is None:
            return pages


def test_alpaca_single_pagination_deterministic(tickerd):
    sim = tickerd.sim()
    q = f"timeframe=15Min&{DAY}&limit=10"
    pages = walk_alpaca(sim, "/v2/stocks/AAPL/bars", q)
    assert len(pages) == 10  # 96 bars
    bars = [b for p in pages for b in p["bars"]]
    assert len(bars) == 96 and len({b["t"] for b in bars}) == 96
    assert bars[0]["t"] == "2022-04-11T00:00:00Z" and bars[-1]["t"] == "2022-04-11T23:45:00Z"
    assert all(p["symbol"] == "AAPL" for p in pages)
    for b in bars:
        assert set(b) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
        assert b["l"] <= min(b["o"], b["c"]) <= max(b["o"], b["c"]) <= b["h"]
    assert walk_alpaca(sim, "/v2/stocks/AAPL/bars", q) == pages
    other = tickerd.sim()  # same seed, another process: same bars
    assert walk_alpaca(other, "/v2/stocks/AAPL/bars", f"timeframe=15Min&{DAY}") == [
        {"bars": bars, "symbol": "AAPL", "next_page_token": None}]


def test_alpaca_multi_symbol_limit_is_total(tickerd):
    sim = tickerd.sim()
    q = "symbols=TSLA,AAPL,MSFT&timeframe=1Hour&" + DAY + "&limit=50"
    pages = walk_alpaca(sim, "/v2/stocks/bars", q)
    assert len(pages) == 2
    assert sum(len(v) for v in pages[0]["bars"].values()) == 50
    seen = {}
    for p in pages:
        for sym, bars in p["bars"].items():
            seen.setdefault(sym, []).extend(b["t"] for b in bars)
    assert sorted(seen) == ["AAPL", "MSFT", "TSLA"]
    assert all(len(v) == 24 and len(set(v)) == 24 for v in seen.values())
    _, _, single = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Hour&" + DAY)
    assert pages[0]["bars"]["AAPL"] == single["bars"]


def test_alpaca_errors(tickerd):
    sim = tickerd.sim(key="K", secret="S")
    st, _, body = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Min", {})
    assert (st, body) == (403, {"message": "forbidden"})
    st, _, body = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Min",
                         {"APCA-API-KEY-ID": "K", "APCA-API-SECRET-KEY": "x"})
    assert st == 403
    st, _, body = alpaca(sim, "/v2/stocks/aapl/bars", "timeframe=1Min")
    assert (st, body) == (422, {"message": "invalid symbol: aapl"})
    st, _, body = alpaca(sim, "/v2/stocks/bars", "symbols=AAPL,B%24D&timeframe=1Min")
    assert (st, body) == (422, {"message": "invalid symbol: B$D"})
    for q in ("timeframe=7Parsec", "timeframe=1Min&limit=10001", "timeframe=1Min&start=x",
              "timeframe=1Min&page_token=bm9wZQ=="):
        st, _, body = alpaca(sim, "/v2/stocks/AAPL/bars", q)
        assert st == 400 and "message" in body, q


def test_alpaca_crypto_bars(tickerd, tmp_path):
    """/v1beta3/crypto/us/bars: the multi-symbol shape for pairs, paginated,
    with no key (Alpaca needs none for crypto) or the right one, not a
    wrong one; recorded like the stock calls."""
    calls = tmp_path / "calls.jsonl"
    sim = tickerd.sim(key="K", secret="S", record_calls=calls)
    path = "/v1beta3/crypto/us/bars"
    q = "symbols=ETH/USD,BTC%2FUSD&timeframe=1Hour&" + DAY + "&limit=30"
    st, _, first = alpaca(sim, path, q, {})
    assert st == 200 and sum(len(v) for v in first["bars"].values()) == 30
    pages = walk_alpaca(sim, path, q)
    assert pages[0] == first and len(pages) == 2
    seen = {}
    for p in pages:
        for sym, bars in p["bars"].items():
            seen.setdefault(sym, []).extend(bars)
    assert sorted(seen) == ["BTC/USD", "ETH/USD"]
    for bars in seen.values():
        assert len(bars) == 24 and len({b["t"] for b in bars}) == 24
        for b in bars:
            assert set(b) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
            assert b["l"] <= min(b["o"], b["c"]) <= max(b["o"], b["c"]) <= b["h"]
    assert seen["BTC/USD"] != seen["ETH/USD"]
    st, _, body = alpaca(sim, path, q, {"APCA-API-KEY-ID": "K", "APCA-API-SECRET-KEY": "x"})
    assert (st, body) == (403, {"message": "forbidden"})
    st, _, body = alpaca(sim, path, "symbols=BTC/usd&timeframe=1Min", {})
    assert (st, body) == (422, {"message": "invalid symbol: BTC/usd"})
    st, _, body = alpaca(sim, "/v2/stocks/bars", "symbols=BTC/USD&timeframe=1Min")
    assert st == 422  # a pair is no stock symbol
    lines = [json.loads(x) for x in calls.read_text().splitlines()]
    assert [(c["path"], c["outcome"]) for c in lines[:4]] == [(path, "ok")] * 3 + [
        (path, "forbidden")]
    assert lines[0]["vendor"] == "alpaca" and lines[0]["rows"] == 30


def test_alpaca_crypto_trades_and_quotes(tickerd):
    """--bar-seconds: /v1beta3/crypto/us/trades|quotes serve the crypto
    stream's generated trades and quotes, each record the streamed event's
    bytes without T and S, paginated, with no key or the right one (not a
    wrong one); pairs are not served as stocks, nor stocks as pairs."""
    from simclient import collect, open_authed, run, subscribe
    sim = tickerd.sim(key="K", secret="S", rate=400, bar_seconds=1)

    async def go():
        ws = await open_authed(sim.url("/v1beta3/crypto/us"), "K", "S")
        await subscribe(ws, trades=["BTC/USD"], quotes=["BTC/USD"])
        _, evs = await collect(ws, 60, timeout=15)
        await ws.close()
        return evs
    evs = [e for e in run(go()) if json.loads(e)["T"] in "tq"]
    t0, t1 = json.loads(evs[0])["t"], json.loads(evs[-1])["t"]
    win = f"symbols=BTC/USD,ETH/USD&start={t0}&end={t1}"
    for word, T in (("trades", "t"), ("quotes", "q")):
        path = f"/v1beta3/crypto/us/{word}"
        st, _, body = alpaca(sim, path, win, {})
        assert st == 200 and body["next_page_token"] is None
        assert sorted(body[word]) == ["BTC/USD", "ETH/USD"]
        # the REST records are the streamed events, byte for byte
        url = f"http://127.0.0.1:{sim.port}{path}?{win.replace(',ETH/USD', '')}"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        mine = [e for e in evs if json.loads(e)["T"] == T]
        recs = ",".join('{' + e[len('{"T":"x","S":"BTC/USD",'):] for e in mine)
        assert text == '{"%s":{"BTC/USD":[%s]},"next_page_token":null}' % (word, recs)
        pages = walk_alpaca(sim, path, win.replace(",ETH/USD", "") + "&limit=7")
        assert len(pages) > 1
        assert [x for p in pages for x in p[word].get("BTC/USD", [])] == body[word]["BTC/USD"]
        st, _, bad = alpaca(sim, path, win, {"APCA-API-KEY-ID": "K", "APCA-API-SECRET-KEY": "x"})
        assert (st, bad) == (403, {"message": "forbidden"})
        st, _, stock = alpaca(sim, f"/v2/stocks/{word}", win)
        assert st == 200 and stock[word] == {}
        st, _, none = alpaca(sim, path, f"symbols=AAPL&start={t0}&end={t1}", {})
        assert st == 200 and none[word] == {}


def test_alpaca_429_headers(tickerd):
    sim = tickerd.sim(alpaca_rate="3/60")
    for i in range(3):
        st, h, _ = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Day&" + DAY)
        assert st == 200
        assert h["X-Ratelimit-Limit"] == "3" and h["X-Ratelimit-Remaining"] == str(2 - i)
    st, h, body = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Day&" + DAY)
    assert (st, body) == (429, {"message": "too many requests"})
    assert 1 <= int(h["Retry-After"]) <= 60
    assert h["X-Ratelimit-Remaining"] == "0"
    assert abs(int(h["X-Ratelimit-Reset"]) - time.time() - 60) < 5


def poly(sim, path, key="PK", **params):
    if key:
        params["apiKey"] = key
    return fetch(f"http://127.0.0.1:{sim.port}{path}?" + urllib.parse.urlencode(params))


def test_polygon_pagination_and_auth(tickerd):
    sim = tickerd.sim(key="PK")
    path = "/v2/aggs/ticker/AAPL/range/1/day/2020-01-01/2020-01-31"
    st, _, body = poly(sim, path, limit=10, adjusted="true", sort="asc")
    assert st == 200 and body["status"] == "OK" and body["resultsCount"] == 10
    assert body["ticker"] == "AAPL" and body["adjusted"] is True and body["request_id"]
    assert body["results"][1]["t"] == 1577941200000  # 2020-01-02 midnight ET
    rows = list(body["results"])
    while "next_url" in body:
        assert body["next_url"].startswith(f"http://127.0.0.1:{sim.port}/")
        assert "apiKey" not in body["next_url"]
        st, _, body = fetch(body["next_url"], {"Authorization": "Bearer PK"})
        assert st == 200
        rows += body["results"]
    assert len(rows) == 31 and len({r["t"] for r in rows}) == 31
    _, _, again = poly(sim, path)
    assert again["results"] == rows
    st, _, body = poly(sim, path, key="nope")
    assert st == 401 and body["status"] == "ERROR" and body["error"] == "Unknown API Key"
    st, _, body = poly(sim, "/v2/aggs/ticker/aapl/range/1/day/2020-01-01/2020-01-31")
    assert st == 200 and body["resultsCount"] == 0 and "results" not in body
    st, _, body = poly(sim, "/v2/aggs/ticker/AAPL/range/1/fortnight/2020-01-01/2020-01-31")
    assert st == 400 and body["status"] == "ERROR"


def test_polygon_429(tickerd):
    sim = tickerd.sim(polygon_rate="2/60")
    path = "/v2/aggs/ticker/AAPL/range/5/minute/2020-01-02/2020-01-02"
    assert poly(sim, path)[0] == 200 and poly(sim, path)[0] == 200
    st, h, body = poly(sim, path)
    assert st == 429 and body["status"] == "ERROR" and "maximum requests" in body["error"]
    assert int(h["Retry-After"]) >= 1


def test_5xx_injection_and_record(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(hist_5xx_every=3, record_calls=rec)
    statuses = [alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Hour&" + DAY)[0]
                for _ in range(9)]
    assert statuses == [200, 200, 500, 200, 200, 502, 200, 200, 503]
    st, _, body = alpaca(sim, "/v2/stocks/AAPL/bars", "timeframe=1Hour&" + DAY)
    lines = [json.loads(x) for x in rec.read_text().splitlines()]
    assert [x["status"] for x in lines] == statuses + [200]
    ok = lines[0]
    assert ok["vendor"] == "alpaca" and ok["path"] == "/v2/stocks/AAPL/bars"
    assert ok["outcome"] == "ok" and ok["rows"] == 24 and ok["symbols"] == "AAPL"
    assert lines[2]["outcome"] == "injected" and lines[2]["rows"] == 0


def test_grid_and_latency(tickerd):
    sim = tickerd.sim(hist_latency=300)
    base = f"http://127.0.0.1:{sim.port}"
    t0 = time.monotonic()
    st, _, ex = fetch(base + "/exchanges")
    assert time.monotonic() - t0 >= 0.3
    assert st == 200 and len(ex) == 11 and "kraken" in ex
    assert fetch(base + "/symbols")[2] == ["btc", "eth", "ltc"]
    st, _, p = fetch(base + "/price/kraken/btc/2024-01-01")
    assert st == 200 and list(p) == ["exchange", "symbol", "date", "open", "high", "low",
                                     "close", "volume"]
    assert p["low"] <= min(p["open"], p["close"]) and p["high"] >= max(p["open"], p["close"])
    assert fetch(base + "/price/kraken/btc/2024-01-01")[2] == p
    assert fetch(base + "/price/binance/btc/2024-01-01")[2] != p
    st, _, body = fetch(base + "/price/nowhere/btc/2024-01-01")
    assert st == 404 and "error" in body
    fast = tickerd.sim()
    t0 = time.monotonic()
    fetch(f"http://127.0.0.1:{fast.port}/symbols")
    assert time.monotonic() - t0 < 0.3
