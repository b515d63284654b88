# SPDX-License-Identifier: Apache-2.0
"""`tickerd sim` as Alpha Vantage at GET /query against PROTOCOLS.md §5:
GLOBAL_QUOTE and TIME_SERIES_INTRADAY bodies (every value a string), unknown
symbols, the Error Message texts, the per-key rolling limits (Note per
minute, Information per day; throttled calls not counted), --av-latency and
--record-calls. Always HTTP 200 with application/json. Every sim process is
checked at teardown (no sanitizer report, exit 0 on SIGTERM)."""

import datetime
import json
import re
import time
import urllib.parse
import urllib.request
import zoneinfo

NOTE = ("Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
        "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if "
        "you would like to target a higher API call frequency.")
INFORMATION = ("Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests "
               "per day. Please subscribe to any of the premium plans at "
               "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.")
BAD_KEY = ("the parameter apikey is invalid or missing. Please claim your free API key on "
           "(https://www.alphavantage.co/support/#api-key). It should take less than 20 "
           "seconds.")
QUOTE_KEYS = ["01. symbol", "02. open", "03. high", "04. low", "05. price", "06. volume",
              "07. latest trading day", "08. previous close", "09. change",
              "10. change percent"]
PX = re.compile(r"^-?\d+\.\d{4}$")
ET = zoneinfo.ZoneInfo("America/New_York")
UNLIMITED = dict(av_per_minute=0, av_per_day=0)


def invalid(function):
    return {"Error Message": "Invalid API call. Please retry or visit the documentation "
            f"(https://www.alphavantage.co/documentation/) for {function}."}


def get(sim, **params):
    """GET /query; returns the parsed body (after checking 200 + JSON)."""
    url = f"http://127.0.0.1:{sim.port}/query?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/json"
        return json.loads(r.read())


def quote(sim, symbol="IBM", key="KEY", **kw):
    return get(sim, function="GLOBAL_QUOTE", symbol=symbol, apikey=key, **kw)


def cents(s):
    return round(float(s) * 10000)


# ---------------------------------------------------------------- GLOBAL_QUOTE ----

def test_global_quote_shape(tickerd):
    sim = tickerd.sim(symbols=60, **UNLIMITED)
    body = quote(sim, "ibm", datatype="json")
    assert list(body) == ["Global Quote"]
    q = body["Global Quote"]
    assert list(q) == QUOTE_KEYS
    assert all(isinstance(v, str) for v in q.values())
    assert q["01. symbol"] == "IBM"
    for k in ("02. open", "03. high", "04. low", "05. price", "08. previous close", "09. change"):
        assert PX.match(q[k]), (k, q[k])
    assert re.match(r"^\d+$", q["06. volume"]) and int(q["06. volume"]) > 0
    assert re.match(r"^-?\d+\.\d{4}%$", q["10. change percent"])
    assert q["07. latest trading day"] == datetime.datetime.now(ET).date().isoformat()
    o, h, lo, p = (cents(q[k]) for k in ("02. open", "03. high", "04. low", "05. price"))
    assert lo <= min(o, p) and h >= max(o, p) and lo > 0
    prev, change = cents(q["08. previous close"]), cents(q["09. change"])
    assert change == p - prev
    pct = float(q["10. change percent"][:-1])
    assert abs(pct - change * 100 / prev) < 0.0001


def test_global_quote_deterministic_per_seed(tickerd):
    a = tickerd.sim(seed=7, **UNLIMITED)
    b = tickerd.sim(seed=7, **UNLIMITED)
    c = tickerd.sim(seed=8, **UNLIMITED)
    for _ in range(3):  # the walk moves once a minute: retry across a boundary
        qa, qb, qc = (quote(s, "AAPL")["Global Quote"] for s in (a, b, c))
        if qa == qb:
            break
    assert qa == qb
    assert qa["08. previous close"] != qc["08. previous close"]
    # near the stream's starting price: within the walk's few percent of the anchor
    assert 5 < float(qa["05. price"]) < 600


def test_unknown_symbols(tickerd):
    sim = tickerd.sim(**UNLIMITED)  # --symbols 50: IBM (57th) is outside the universe
    assert quote(sim, "ZZZZ") == {"Global Quote": {}}
    assert quote(sim, "IBM") == {"Global Quote": {}}
    assert quote(sim, "AAPL")["Global Quote"]["01. symbol"] == "AAPL"
    assert quote(sim, "BRK.B")["Global Quote"]["01. symbol"] == "BRK.B"
    wide = tickerd.sim(symbols=200, **UNLIMITED)
    assert quote(wide, "XAAA") == {"Global Quote": {}}  # slot 0 has a real name: AAPL
    assert quote(wide, "XAGR")["Global Quote"]["01. symbol"] == "XAGR"


# ---------------------------------------------------------- TIME_SERIES_INTRADAY ----

def check_series(body, symbol, interval, size, n):
    assert list(body) == ["Meta Data", f"Time Series ({interval})"]
    meta = body["Meta Data"]
    assert meta == {
        "1. Information": f"Intraday ({interval}) open, high, low, close prices and volume",
        "2. Symbol": symbol, "3. Last Refreshed": meta["3. Last Refreshed"],
        "4. Interval": interval, "5. Output Size": size, "6. Time Zone": "US/Eastern"}
    series = body[f"Time Series ({interval})"]
    assert len(series) == n
    stamps = list(series)
    assert stamps[0] == meta["3. Last Refreshed"]
    step = datetime.timedelta(minutes=int(interval[:-3]))
    times = [datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ET)
             for s in stamps]
    for newer, older in zip(times, times[1:]):
        assert newer - older == step or newer.utcoffset() != older.utcoffset()
    now = datetime.datetime.now(ET)
    assert times[0] + step <= now < times[0] + 2 * step + datetime.timedelta(seconds=5)
    for bar in series.values():
        assert list(bar) == ["1. open", "2. high", "3. low", "4. close", "5. volume"]
        assert all(isinstance(v, str) for v in bar.values())
        o, h, lo, c = (cents(bar[k]) for k in ("1. open", "2. high", "3. low", "4. close"))
        assert all(PX.match(bar[k]) for k in ("1. open", "2. high", "3. low", "4. close"))
        assert lo <= min(o, c) <= max(o, c) <= h
        assert re.match(r"^\d+$", bar["5. volume"])
    return series


def test_intraday_shape(tickerd):
    sim = tickerd.sim(symbols=60, **UNLIMITED)
    body = get(sim, function="TIME_SERIES_INTRADAY", symbol="IBM", interval="5min",
               apikey="KEY")
    check_series(body, "IBM", "5min", "Compact", 100)
    compact = get(sim, function="TIME_SERIES_INTRADAY", symbol="MSFT", interval="60min",
                  outputsize="compact", apikey="KEY")
    check_series(compact, "MSFT", "60min", "Compact", 100)
    full = get(sim, function="TIME_SERIES_INTRADAY", symbol="MSFT", interval="60min",
               outputsize="full", apikey="KEY")
    series = check_series(full, "MSFT", "60min", "Full size", 1000)
    # the same hour has the same bar, whoever asks
    common = set(series) & set(compact["Time Series (60min)"])
    assert len(common) >= 99
    assert all(series[k] == compact["Time Series (60min)"][k] for k in common)
    one = get(sim, function="TIME_SERIES_INTRADAY", symbol="AAPL", interval="1min",
              apikey="KEY")
    check_series(one, "AAPL", "1min", "Compact", 100)
    assert get(sim, function="TIME_SERIES_INTRADAY", symbol="ZZZZ", interval="5min",
               apikey="KEY") == invalid("TIME_SERIES_INTRADAY")


# ---------------------------------------------------------------------- errors ----

def test_errors(tickerd):
    sim = tickerd.sim(**UNLIMITED)
    assert get(sim, apikey="KEY") == invalid("")
    assert get(sim, function="TIME_SERIES_DAILY_FOO", symbol="AAPL",
               apikey="KEY") == invalid("TIME_SERIES_DAILY_FOO")
    assert get(sim, function="GLOBAL_QUOTE", apikey="KEY") == invalid("GLOBAL_QUOTE")
    assert quote(sim, "AAPL", datatype="csv") == invalid("GLOBAL_QUOTE")
    for bad in (dict(interval="7min"), dict(), dict(interval="5min", outputsize="huge")):
        assert get(sim, function="TIME_SERIES_INTRADAY", symbol="AAPL", apikey="KEY",
                   **bad) == invalid("TIME_SERIES_INTRADAY")
    assert get(sim, function="GLOBAL_QUOTE", symbol="AAPL") == {"Error Message": BAD_KEY}
    assert quote(sim, "AAPL", key="") == {"Error Message": BAD_KEY}
    keyed = tickerd.sim(key="SECRETKEY", **UNLIMITED)
    assert quote(keyed, "AAPL", key="OTHER") == {"Error Message": BAD_KEY}
    assert quote(keyed, "AAPL", key="SECRETKEY")["Global Quote"]["01. symbol"] == "AAPL"
    # other paths are still 404
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sim.port}/other", timeout=5)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


# ---------------------------------------------------------------------- limits ----

def test_per_minute_then_per_day(tickerd):
    sim = tickerd.sim(av_per_minute=3, av_minute=2, av_per_day=5)
    for _ in range(3):
        assert "01. symbol" in quote(sim, "AAPL", key="K1")["Global Quote"]
    assert quote(sim, "AAPL", key="K1") == {"Note": NOTE}
    assert quote(sim, "AAPL", key="K1") == {"Note": NOTE}  # throttled: not counted
    assert "01. symbol" in quote(sim, "AAPL", key="K2")["Global Quote"]  # per key
    time.sleep(2.1)
    for _ in range(2):  # 3 + 2 counted: the daily quota of 5
        assert "01. symbol" in quote(sim, "AAPL", key="K1")["Global Quote"]
    assert quote(sim, "AAPL", key="K1") == {"Information": INFORMATION}
    time.sleep(2.1)
    assert quote(sim, "AAPL", key="K1") == {"Information": INFORMATION}


def test_day_window_and_custom_texts(tickerd):
    sim = tickerd.sim(av_per_minute=0, av_per_day=2, av_day=1.5, av_day_key="Note",
                      av_day_text="We have detected your API key as K1 and ...")
    assert quote(sim, "ZZZZ", key="K1") == {"Global Quote": {}}  # counted too
    assert get(sim, function="NOPE", apikey="K1") == invalid("NOPE")  # counted too
    assert quote(sim, "AAPL", key="K1") == {"Note": "We have detected your API key as K1 and ..."}
    time.sleep(1.6)
    assert "01. symbol" in quote(sim, "AAPL", key="K1")["Global Quote"]
    m = tickerd.sim(av_per_minute=1, av_minute_key="Information", av_minute_text='say "hi"')
    quote(m)
    assert quote(m) == {"Information": 'say "hi"'}


# ---------------------------------------------------------------- latency, record ----

def test_latency(tickerd):
    sim = tickerd.sim(av_latency=400, **UNLIMITED)
    t0 = time.monotonic()
    assert "01. symbol" in quote(sim, "AAPL")["Global Quote"]
    assert time.monotonic() - t0 >= 0.4
    t0 = time.monotonic()
    assert get(sim, function="GLOBAL_QUOTE", symbol="AAPL") == {"Error Message": BAD_KEY}
    assert time.monotonic() - t0 >= 0.4
    fast = tickerd.sim(**UNLIMITED)
    t0 = time.monotonic()
    quote(fast, "AAPL")
    assert time.monotonic() - t0 < 0.4


def test_record_calls(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(av_per_minute=2, av_per_day=3, record_calls=rec)
    before = time.time_ns()
    quote(sim, "AAPL", key="ABCDEFGH")
    quote(sim, "ZZZZ", key="ABCDEFGH")
    quote(sim, "AAPL", key="ABCDEFGH")
    get(sim, function="GLOBAL_QUOTE", symbol="AAPL")
    quote(sim, "AAPL", key="abc")
    get(sim, function="TIME_SERIES_INTRADAY", symbol="AAPL", interval="1min", apikey="abc")
    get(sim, function="X\"Y", symbol="A\\B", apikey="abc")
    quote(sim, "AAPL", key="abc")
    quote(sim, "AAPL", key="abc")
    after = time.time_ns()
    lines = rec.read_text().splitlines()  # flushed per call: no need to stop the sim
    rows = [json.loads(line) for line in lines]
    assert [(r["function"], r["symbol"], r["key"], r["outcome"]) for r in rows] == [
        ("GLOBAL_QUOTE", "AAPL", "ABCD\u2026", "quote"),
        ("GLOBAL_QUOTE", "ZZZZ", "ABCD\u2026", "unknown"),
        ("GLOBAL_QUOTE", "AAPL", "ABCD\u2026", "throttled_minute"),
        ("GLOBAL_QUOTE", "AAPL", "", "error"),
        ("GLOBAL_QUOTE", "AAPL", "abc", "quote"),
        ("TIME_SERIES_INTRADAY", "AAPL", "abc", "quote"),
        ("X\"Y", "A\\B", "abc", "throttled_minute"),
        ("GLOBAL_QUOTE", "AAPL", "abc", "throttled_minute"),
        ("GLOBAL_QUOTE", "AAPL", "abc", "throttled_minute"),
    ]
    assert [list(r) for r in rows] == [["t", "function", "symbol", "key", "outcome"]] * 9
    ts = [r["t"] for r in rows]
    assert ts == sorted(ts) and before <= ts[0] and ts[-1] <= after
