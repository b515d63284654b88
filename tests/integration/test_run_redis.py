# SPDX-License-Identifier: Apache-2.0
"""tickerd run against the simulator and a real redis-server: what arrives on
each channel is exactly what the simulator recorded, through drops, a second
instance on the same key, a Redis restart and malformed frames."""
import fnmatch
import json
import re
import time

import pytest

from harness import event_channels, group_by_channel, read_record

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
ALL_STOCK = "trades=*;quotes=*;bars=*;statuses=*;news=*"


def start_run(tickerd, sim, redis=None, urls=("/v2/iex",), env=KEYS, **opts):
    opts.setdefault("subscribe", ALL_STOCK)
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("backoff_min", 0.05)
    opts.setdefault("backoff_max", 0.5)
    if redis is not None:
        opts["redis"] = redis.url
    return tickerd.run(url=[sim.url(u) for u in urls], env=env, **opts)


def expected_for(record, channels=(), patterns=()):
    """Per channel, the events a subscriber to channels/patterns must get."""
    out = {}
    for ev in record:
        for ch in event_channels(ev):
            if ch in channels or any(fnmatch.fnmatchcase(ch, p) for p in patterns):
                out.setdefault(ch, []).append(ev)
    return out


def wait_sim_done(sim, count, timeout=30):
    sim.wait_for_log(rf"--count {count} reached", timeout=timeout)


def stats_value(proc, name):
    vals = re.findall(rf"{name}=(\d+)".encode(), proc.stderr())
    return int(vals[-1]) if vals else 0


def test_channels_receive_exactly_what_the_sim_sent(tickerd, redis, redis_collector, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=4000, count=6000, symbols=12, batch=20)
    channels = ("quotes.AAPL",)
    patterns = ("trades.*", "news.*", "statuses.*", "bars.*")
    coll = redis_collector(redis, channels=channels, patterns=patterns)
    run = start_run(tickerd, sim, redis, urls=("/v2/iex", "/v1beta1/news"))
    wait_sim_done(sim, 6000)
    record = read_record(rec)
    want = expected_for(record, channels, patterns)
    total = sum(len(v) for v in want.values())
    assert total > 1000, "the stream is too thin to prove anything"
    for kind in ("quotes", "trades", "news", "statuses", "bars"):
        assert any(ch.startswith(kind + ".") for ch in want), f"no {kind} in the record"
    coll.wait_count(total, timeout=30)
    coll.wait_quiet(1.0)
    got = group_by_channel(coll.snapshot())
    assert sorted(got) == sorted(want)
    for ch in want:
        assert got[ch] == want[ch], f"{ch}: {len(got[ch])} received, {len(want[ch])} sent"
    # A news item goes to each of its symbols' channels.
    multi = [ev for ev in record if b'"T":"n"' in ev and len(json.loads(ev)["symbols"]) > 1]
    assert multi, "the sim sent no news with several symbols"
    assert run.poll() is None


def test_stdout_sink_lines(tickerd, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=2000, count=1500, symbols=8)
    run = start_run(tickerd, sim, stdout=True, subscribe="trades=*;quotes=*;bars=*;statuses=*")
    wait_sim_done(sim, 1500)
    record = [ev for ev in read_record(rec) if event_channels(ev)]
    deadline = time.monotonic() + 10
    while len(run.stdout_lines()) < len(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = run.stdout_lines()
    assert len(lines) == len(record)
    for line, ev in zip(lines, record):
        obj = json.loads(line)
        assert obj["channel"] == event_channels(ev)[0]
        assert json.dumps(obj["data"], separators=(",", ":"), ensure_ascii=False).encode() == ev


def test_drops_reconnect_and_resubscribe(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=800, symbols=5, drop_every=1)
    coll = redis_collector(redis, patterns=("quotes.*",))
    run = start_run(tickerd, sim, redis, subscribe="quotes=*;trades=AAPL")
    run.wait_for_log(r"reconnects=[3-9]", timeout=20)
    n = len(coll.snapshot())
    time.sleep(1.5)
    assert len(coll.snapshot()) > n, "the flow did not resume after the last reconnect"
    # Each connection subscribed again, with the same set.
    subs = re.findall(rb'subscribed, streaming \((.*)\)', run.stderr())
    assert len(subs) >= 4 and len(set(subs)) == 1
    assert b'"quotes":["*"]' in subs[0] and b'"trades":["AAPL"]' in subs[0]
    assert stats_value(run, "reconnects") >= 3


def test_second_instance_backs_off_on_406(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=500, symbols=5, max_conns=1)
    coll = redis_collector(redis, patterns=("quotes.*",))
    first = start_run(tickerd, sim, redis, name="first")
    first.wait_for_log("subscribed, streaming")
    coll.wait_count(20)
    second = start_run(tickerd, sim, redis, name="second", conn_limit_backoff=30)
    second.wait_for_log(r"connection limit exceeded \(406\): another instance holds", timeout=10)
    m = second.wait_for_log(r"reconnecting in ([0-9.]+)s")
    assert float(m.group(1)) >= 26.0, "must back off long, not fight"
    n = len(coll.snapshot())
    time.sleep(2.0)
    assert len(coll.snapshot()) > n + 200, "the first instance stopped streaming"
    assert first.count_log(r"upstream \S+: connected") == 1 and stats_value(first, "reconnects") == 0
    assert second.count_log(r"406") >= 1 and second.count_log(r"upstream \S+: connected") == 1
    assert second.poll() is None


def test_redis_restart_mid_stream(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=500, symbols=5)
    coll = redis_collector(redis, patterns=("quotes.*",))
    run = start_run(tickerd, sim, redis, subscribe="quotes=*")
    coll.wait_count(50)
    gen = coll.generation
    redis.stop()
    run.wait_for_log(r"redis.*(lost|down|disconnect|unreachable)", timeout=10)
    time.sleep(1.0)
    assert run.poll() is None, "tickerd died with Redis"
    redis.start()
    coll.wait_subscribed(timeout=15, after_gen=gen)
    n = len(coll.snapshot())
    coll.wait_count(n + 100, timeout=15)
    assert run.poll() is None


def test_malformed_frames_are_skipped(tickerd, redis, redis_collector, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6, malformed_every=4)
    patterns = ("quotes.*", "trades.*")
    coll = redis_collector(redis, patterns=patterns)
    run = start_run(tickerd, sim, redis, subscribe="quotes=*;trades=*")
    wait_sim_done(sim, 3000)
    want = expected_for(read_record(rec), patterns=patterns)
    coll.wait_count(sum(len(v) for v in want.values()), timeout=20)
    coll.wait_quiet(0.5)
    assert group_by_channel(coll.snapshot()) == want
    run.wait_for_log("malformed frame skipped")
    assert stats_value(run, "malformed") > 10
    assert run.count_log(r"upstream \S+: connected") == 1, "a malformed frame must not drop the connection"


def test_mute_upstream_is_detected(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=300, symbols=3, stall=4)
    coll = redis_collector(redis, patterns=("quotes.*",))
    run = start_run(tickerd, sim, redis, subscribe="quotes=*", ping_interval=0.5,
                    ping_timeout=0.5, conn_limit_backoff=1)
    run.wait_for_log(r"watchdog: no data and no pong for [0-9.]+s", timeout=15)
    run.wait_for_log(r"subscribed, streaming", count=2, timeout=10)
    n = len(coll.snapshot())
    coll.wait_count(n + 50, timeout=10)


def test_bad_credentials_are_fatal(tickerd):
    sim = tickerd.sim(key="PKTEST", secret="right")
    run = start_run(tickerd, sim, env={"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "wrong"},
                    stdout=True)
    rc = run.popen.wait(15)
    assert rc == 3
    assert b"auth failed (402)" in run.stderr()
    assert b"wrong" not in run.stderr(), "the secret must never be logged"


def test_insufficient_subscription_is_fatal(tickerd):
    sim = tickerd.sim(deny_feed="sip")
    run = start_run(tickerd, sim, urls=("/v2/sip",), stdout=True)
    assert run.popen.wait(15) == 3
    assert b"insufficient subscription (409)" in run.stderr()


def test_symbol_limit_names_what_did_not_fit(tickerd):
    sim = tickerd.sim(symbol_limit=2)
    run = start_run(tickerd, sim, stdout=True, subscribe="trades=AAPL,MSFT,TSLA;quotes=AAPL")
    m = run.wait_for_log(r"symbol limit exceeded \(405\): (\d+) subscription\(s\) did not fit: (.*)")
    assert int(m.group(1)) == 4
    assert b"trades.TSLA" in m.group(2)
