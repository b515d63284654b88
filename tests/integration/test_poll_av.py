# SPDX-License-Identifier: Apache-2.0
"""tickerd run --feed alphavantage: a REST-only vendor polled under its quota
and turned into a stream of quotes (PROTOCOLS.md §5), against tickerd sim's
/query. Quota windows are shortened (2 s) so the tests run in seconds."""
import asyncio
import json
import time

from simclient import AUTHENTICATED, CONNECTED, auth, connect, recv, run, subscribe

KEY = {"ALPHAVANTAGE_API_KEY": "AVKEY"}
SEVEN = ["AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA"]


def calls(path):
    out = []
    try:
        lines = open(path, "rb").read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if line.strip():
            out.append(json.loads(line))
    return out


def max_in_window(times_ns, window_s):
    times = sorted(times_ns)
    best, j = 0, 0
    for i, t in enumerate(times):
        while t - times[j] >= window_s * 1e9:
            j += 1
        best = max(best, i - j + 1)
    return best


def start(tickerd, sim, **opts):
    opts.setdefault("stats_interval", 0)
    return tickerd.run(feed="alphavantage", url=[sim.url("/query", scheme="http")], env=KEY, **opts)


def test_quota_is_never_exceeded_and_every_ticker_refreshed(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(av_per_minute=5, av_minute=2, av_per_day=0, record_calls=rec)
    run_ = start(tickerd, sim, subscribe="quotes=" + ",".join(SEVEN), quota="5/2s",
                 poll_interval=0.1, stdout=True)
    run_.wait_for_log(r"poll: 7 ticker\(s\) wanted: each refreshed every 2\.8s")
    time.sleep(7.0)
    got = calls(rec)
    served = [c for c in got if c["outcome"] == "quote"]
    assert len(got) >= 12, f"only {len(got)} calls in 7 s"
    assert max_in_window([c["t"] for c in got], 2.0) <= 5, "more than 5 calls in a 2 s window"
    assert not [c for c in got if c["outcome"].startswith("throttled")]
    # every ticker in turn: all seven polled, none more than once ahead of another
    per = {s: sum(1 for c in served if c["symbol"] == s) for s in SEVEN}
    assert min(per.values()) >= 1 and max(per.values()) - min(per.values()) <= 1, per
    lines = [json.loads(x) for x in run_.stdout_lines()]
    assert {x["channel"] for x in lines} == {f"quotes.{s}" for s in SEVEN}
    assert all(x["data"]["01. symbol"] in SEVEN for x in lines)


async def client(gw, sym):
    ws = await connect(gw.url("/v2/iex"))
    assert await recv(ws) == CONNECTED
    assert await auth(ws, "demo", "demo") == AUTHENTICATED
    await subscribe(ws, quotes=[sym])
    return ws


def test_one_call_per_cycle_for_many_subscribers_and_stop_when_left(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    sim = tickerd.sim(av_per_minute=0, av_per_day=0, record_calls=rec)
    gw = start(tickerd, sim, listen=True, client=["demo:demo"], quota="100/2s",
               poll_interval=0.5)

    def aapl_calls():
        return [c for c in calls(rec) if c["symbol"] == "AAPL"]

    async def go():
        ws = [await client(gw, "AAPL") for _ in range(3)]
        await asyncio.sleep(0.3)
        n0 = len(aapl_calls())
        await asyncio.sleep(3.0)
        during = len(aapl_calls()) - n0
        # one call per 0.5 s cycle for the three of them (not three)
        assert 4 <= during <= 8, during
        got = await recv(ws[0], 3.0)  # the first quote (or its snapshot) reached a client
        assert '"01. symbol":"AAPL"' in got
        for w in ws:
            await w.close()
        await asyncio.sleep(1.0)
        n1 = len(aapl_calls())
        await asyncio.sleep(2.0)
        assert len(aapl_calls()) == n1, "AAPL is still polled with nobody subscribed"
    run(go(), timeout=30)


def test_throttled_backs_off_until_the_window_resets(tickerd, tmp_path):
    rec = tmp_path / "calls.jsonl"
    # the vendor allows 3 per 2 s; tickerd is told 10 per 2 s (another app shares the key)
    sim = tickerd.sim(av_per_minute=3, av_minute=2, av_per_day=0, record_calls=rec)
    run_ = start(tickerd, sim, subscribe="quotes=" + ",".join(SEVEN), quota="10/2s,1000/h",
                 poll_interval=0.1, stdout=True)
    run_.wait_for_log(r"over its per-minute quota .*no calls for 2s", timeout=10)
    time.sleep(6.0)
    got = calls(rec)
    throttled = [c for c in got if c["outcome"].startswith("throttled")]
    served = [c for c in got if c["outcome"] == "quote"]
    # each throttle costs at most the calls already in flight (2), then a pause
    windows = 7.0 / 2.0 + 1
    assert len(throttled) <= 2 * windows, f"{len(throttled)} throttled calls: a burst"
    assert len(served) >= 6
    assert max_in_window([c["t"] for c in served], 2.0) <= 3


def test_unknown_symbol_and_vendor_error_reach_subscribers(tickerd, tmp_path):
    sim = tickerd.sim(av_per_minute=0, av_per_day=0)
    bad = "X" * 64  # the sim answers "Error Message" (Invalid API call) for it
    run_ = start(tickerd, sim, subscribe=f"quotes=AAPL,ZZZZ,{bad}", quota="20/2s",
                 poll_interval=0.3, stdout=True)
    run_.wait_for_log(r"poll ZZZZ: unknown symbol")
    run_.wait_for_log(r"poll X+: vendor error: Invalid API call")
    time.sleep(1.0)
    lines = [json.loads(x) for x in run_.stdout_lines()]
    by = {}
    for x in lines:
        by.setdefault(x["channel"], []).append(x["data"])
    err = by["quotes.ZZZZ"][0]
    assert err["T"] == "error" and "unknown symbol" in err["msg"] and err["S"] == "ZZZZ"
    assert "Invalid API call" in by[f"quotes.{bad}"][0]["msg"]
    assert len(by["quotes.ZZZZ"]) == 1, "the error is told once, not on every cycle"
    assert by["quotes.AAPL"][0]["01. symbol"] == "AAPL"  # other tickers keep flowing
