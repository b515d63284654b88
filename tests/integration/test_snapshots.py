# SPDX-License-Identifier: Apache-2.0
"""GET /v2/stocks/snapshots on the gateway (--rest-url): each symbol's
dailyBar and prevDailyBar in Alpaca's shape, from the vendor's daily bars
(the sim's REST history here), for a client's credentials only."""

import json
import time
import urllib.error
import urllib.request

ENV = {"APCA_API_KEY_ID": "PKVENDOR", "APCA_API_SECRET_KEY": "vendor"}
CLIENT = {"APCA-API-KEY-ID": "demo", "APCA-API-SECRET-KEY": "demo"}


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body.decode()


def sim_daily_bars(sim, sym):
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 14 * 86400))
    status, body = get(f"http://127.0.0.1:{sim.port}/v2/stocks/bars?symbols={sym}"
                       f"&timeframe=1Day&start={start}&limit=10000",
                       {"APCA-API-KEY-ID": "x", "APCA-API-SECRET-KEY": "y"})
    assert status == 200, body
    return body["bars"][sym]


def test_snapshots_give_the_previous_close_from_the_vendors_daily_bars(tickerd):
    sim = tickerd.sim(rate=50)
    gw = tickerd.run(url=sim.url("/v2/iex"), listen=True, client="demo:demo",
                     rest_url=f"http://127.0.0.1:{sim.port}", stats_interval=0, env=ENV)
    base = f"http://127.0.0.1:{gw.port}/v2/stocks/snapshots"
    # a client's credentials only, as the stream
    assert get(f"{base}?symbols=AAPL")[0] == 403
    assert get(f"{base}?symbols=AAPL", {**CLIENT, "APCA-API-SECRET-KEY": "wrong"})[0] == 403
    status, body = get(f"{base}?symbols=AAPL,bad%20sym", CLIENT)
    assert status == 400 and body == {"message": "invalid symbol"}, body
    many = ",".join(f"S{i}" for i in range(201))
    status, body = get(f"{base}?symbols={many}", CLIENT)
    assert status == 400 and body == {"message": "too many symbols"}, body
    # first asked: null (fetch started), then the bars
    deadline = time.monotonic() + 10
    while True:
        status, body = get(f"{base}?symbols=AAPL,MSFT", CLIENT)
        assert status == 200 and set(body) == {"AAPL", "MSFT"}, body
        if body["AAPL"] and body["MSFT"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for sym in ("AAPL", "MSFT"):
        bars = sim_daily_bars(sim, sym)
        snap = body[sym]
        assert snap["prevDailyBar"]["t"] == bars[-2]["t"], (snap, bars[-2:])
        assert snap["dailyBar"]["t"] == bars[-1]["t"]
        for f in "ohlcv":
            assert abs(snap["prevDailyBar"][f] - bars[-2][f]) < 1e-6, (f, snap, bars[-2])
    err = gw.stderr().decode()
    assert "--rest-url" not in err, err  # no warning about the vendor's answers


def test_without_rest_url_snapshots_are_not_found(tickerd):
    sim = tickerd.sim(rate=10)
    gw = tickerd.run(url=sim.url("/v2/iex"), listen=True, client="demo:demo", stats_interval=0,
                     env=ENV)
    status, _ = get(f"http://127.0.0.1:{gw.port}/v2/stocks/snapshots?symbols=AAPL", CLIENT)
    assert status == 404
