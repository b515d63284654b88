# SPDX-License-Identifier: Apache-2.0
"""Proves the harness itself (no tickerd needed): Redis fixture start, stop,
kill and restart on the same port, the collector (channels and patterns,
order, resubscription after a restart), record helpers, Proc."""

import sys
import time

import pytest

import harness


def test_redis_fixture_and_collector(redis, redis_collector):
    assert redis.url == f"redis://127.0.0.1:{redis.port}"
    col = redis_collector(redis, channels=["quotes.AAPL"], patterns=["trades.*"])
    cli = redis.client()
    sent = []
    for i in range(200):
        ch = "quotes.AAPL" if i % 2 else f"trades.SYM{i % 7}"
        data = b'{"i":%d,"x":"\xc3\xa9"}' % i
        cli.publish(ch, data)
        sent.append((ch, data))
    cli.publish("bars.AAPL", b"not collected")
    got = col.wait_count(200, timeout=10)
    assert got == sent
    time.sleep(0.2)
    assert len(col.snapshot()) == 200


def test_redis_restart_same_port(redis_server, redis_collector):
    srv = redis_server()
    port, pid = srv.port, srv.pid
    col = redis_collector(srv, patterns=["*"])
    srv.client().publish("a", b"1")
    col.wait_count(1)
    gen = col.generation
    srv.kill()
    assert not srv.running
    srv.start()
    assert srv.port == port and srv.pid != pid and srv.client().ping()
    col.wait_subscribed(timeout=10, after_gen=gen)
    assert col.reconnects >= 1
    srv.client().publish("b", b"2")
    assert col.wait_count(2)[-1] == ("b", b"2")
    srv.stop()
    assert not srv.running
    srv.start()
    assert srv.client().ping()


def test_two_servers_distinct_ports(redis_server):
    a, b = redis_server(), redis_server(maxclients=50)
    assert a.port != b.port
    assert b.client().config_get("maxclients")["maxclients"] in ("50", b"50")


def test_records_and_channels(tmp_path):
    rec = tmp_path / "rec.jsonl"
    lines = [b'{"T":"q","S":"AAPL","bp":1}', b'{"T":"t","S":"BTC/USD","p":2}',
             b'{"T":"n","symbols":["AAPL","TSLA"],"headline":"h"}',
             b'{"T":"success","msg":"authenticated"}', b'{"T":"o","S":"ETH/USD","b":[]}']
    rec.write_bytes(b"\n".join(lines) + b"\n")
    got = harness.read_record(rec)
    assert got == lines
    exp = harness.expected_messages(got, prefix="md:")
    assert [c for c, _ in exp] == ["md:quotes.AAPL", "md:trades.BTC/USD", "md:news.AAPL",
                                   "md:news.TSLA", "md:orderbooks.ETH/USD"]
    assert exp[0][1] == lines[0]
    assert harness.event_channels({"T": "d", "S": "X"}) == ["dailyBars.X"]


def test_opts_to_args():
    assert harness.opts_to_args({"drop_every": 2, "record": "/x", "verbose": True,
                                 "color": False, "skip": None, "deny_feed": ["iex", "sip"]}) == [
        "--drop-every", "2", "--record", "/x", "--verbose", "--no-color",
        "--deny-feed", "iex", "--deny-feed", "sip"]


def test_proc_logs_and_clean_exit(tmp_path):
    script = ("import signal,sys,time\n"
              "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
              "print('ready', file=sys.stderr, flush=True)\n"
              "print('out', flush=True)\n"
              "time.sleep(30)\n")
    p = harness.Proc([sys.executable, "-c", script], tmp_path, "py").start()
    assert p.wait_for_log(r"ready", timeout=10)
    p.wait_for_log(r"^out$", stream="stdout")
    assert p.stop() == 0
    p.check()


def test_proc_check_catches_sanitizer_report(tmp_path):
    script = "import sys; sys.stderr.write('==1==ERROR: AddressSanitizer: heap-use-after-free\\n')"
    p = harness.Proc([sys.executable, "-c", script], tmp_path, "bad").start()
    p.popen.wait(10)
    with pytest.raises(AssertionError, match="sanitizer"):
        p.check()
    with pytest.raises(AssertionError, match="exited"):
        p.wait_for_log("never", timeout=5)


def test_free_ports_unique():
    ports = {harness.free_port() for _ in range(50)}
    assert len(ports) == 50
