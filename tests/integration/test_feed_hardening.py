# SPDX-License-Identifier: Apache-2.0
"""tickerd run's upstream side under hostile or broken vendors: an oversized
message is skipped whole, name lookups do not block the loop, signals."""
import calendar
import json
import os
import re
import random
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from harness import Proc, free_port, wait_port

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}


def stats_value(proc, name):
    vals = re.findall(rf"{name}=(\d+)".encode(), proc.stderr())
    return int(vals[-1]) if vals else 0


def test_oversized_message_is_skipped_whole(tickerd, redis, redis_collector):
    # 1 MB of "garbage", spaces, then a valid trade of EVIL; the cap is 64 KiB,
    # so the message arrives in many fragments past the cap.
    sim = tickerd.sim(oversize_once=1_000_000, rate=400, symbols=5)
    coll = redis_collector(redis, patterns=("trades.*",))
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=*", stdout=True,
                      redis=redis.url, upstream_max_message=65536, stats_interval=0.2)
    sim.wait_for_log(r"sent an oversized message of 1000000 bytes")
    run.wait_for_log(r"message over 65536 bytes skipped whole")
    coll.wait_count(50, timeout=15)  # the stream goes on after it
    deadline = time.monotonic() + 10
    while stats_value(run, "malformed") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stats_value(run, "malformed") == 1, run.describe()
    assert b"EVIL" not in run.stdout()
    assert not [m for m in coll.snapshot() if b"EVIL" in repr(m).encode()]
    assert len(run.stdout_lines()) >= 50


def wait_until(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sighup_reopens_the_log_and_sigterm_flushes(tickerd):
    sim = tickerd.sim(rate=500, symbols=5)
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=*", stdout=True,
                      stats_interval=0.2)
    wait_until(lambda: len(run.stdout_lines()) >= 50, what="events on stdout")
    # rotate the log as logrotate does: rename, then SIGHUP
    rotated = run.err_path.with_name(run.err_path.name + ".1")
    os.rename(run.err_path, rotated)
    run.signal(signal.SIGHUP)
    wait_until(lambda: run.err_path.exists() and b"caught SIGHUP: log file" in run.stderr(),
               what="the reopened log")
    assert str(run.err_path).encode() in run.stderr()
    n = len(run.stdout_lines())
    wait_until(lambda: len(run.stdout_lines()) >= n + 50, what="events after SIGHUP")
    assert run.poll() is None
    # the simulator survives a hangup too
    sim.signal(signal.SIGHUP)
    sim.wait_for_log(r"caught SIGHUP: log file")
    n = len(run.stdout_lines())
    wait_until(lambda: len(run.stdout_lines()) >= n + 50, what="events after the sim's SIGHUP")
    assert sim.poll() is None and run.poll() is None
    # SIGTERM: clean exit, everything accepted for stdout is written
    assert run.stop() == 0
    m = re.search(rb"stopped: (\d+) events received; stdout: (\d+) lines, (\d+) events dropped",
                  run.stderr())
    assert m, run.describe()
    assert int(m.group(3)) == 0
    assert int(m.group(2)) == len(run.stdout_lines()) == int(m.group(1))


def test_backfill_survives_sighup(tickerd, tmp_path):
    sim = tickerd.sim(hist_latency=300)
    p = tickerd.start("backfill", "--url", f"http://127.0.0.1:{sim.port}", "--symbols",
                      "AAPL,MSFT", "--start", "2022-04-11", "--end", "2022-04-12", "--limit",
                      "50", "--concurrency", "1", "--rate", "0", "--json", "--store",
                      f"sqlite:{tmp_path / 'h.db'}",
                      env={"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"})
    time.sleep(0.8)
    assert p.poll() is None, "finished before the hangup: make it slower"
    p.signal(signal.SIGHUP)
    p.popen.wait(60)
    assert p.returncode == 0, p.describe()
    assert json.loads(p.stdout())["rows"] > 0


def test_log_lines_carry_an_iso8601_utc_time(tickerd):
    sim = tickerd.sim(rate=10)
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=AAPL",
                      stats_interval=0.2)
    run.wait_for_log(r"stats: ")
    lines = run.stderr().decode().splitlines()
    assert lines
    iso = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z run [EWID] ")
    for line in lines:
        assert iso.match(line), line
    stamp = iso.match(lines[-1]).group(0)[:19]
    t = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))
    assert abs(t - time.time()) < 60  # UTC, not local time


# ---- name lookups: a resolver of our own on a loopback address, seen only by
# a tickerd started in a private mount namespace (its own /etc/resolv.conf).

class FakeDNS:
    """UDP DNS on 127.x.y.z:53: NAME -> 127.0.0.1 after `delay` s; names
    starting with "nx" -> NXDOMAIN; names starting with "hang" -> no answer."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.addr = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.53"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.addr, 53))
        self.sock.settimeout(0.2)
        self.queries = []
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            threading.Thread(target=self._answer, args=(q, peer), daemon=True).start()

    def _answer(self, q, peer):
        qid, = struct.unpack("!H", q[:2])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        qtype, = struct.unpack("!H", q[i + 1:i + 3])
        question = q[12:i + 5]
        name = ".".join(labels)
        self.queries.append((name, qtype, time.monotonic()))
        if name.startswith("hang"):
            return
        time.sleep(self.delay)
        if name.startswith("nx"):
            resp = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        elif qtype == 1:
            resp = (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question +
                    struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1"))
        else:
            resp = struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question
        if not self.stopping:
            self.sock.sendto(resp, peer)

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def unshare_works():
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def fake_dns(tmp_path):
    if not unshare_works():
        pytest.skip("needs unshare -m (a private /etc/resolv.conf for the tickerd under test)")
    servers = []

    def factory(delay=0.0):
        try:
            d = FakeDNS(delay)
        except PermissionError:
            pytest.skip("needs to bind UDP port 53 on a loopback address (root)")
        servers.append(d)
        return d
    yield factory
    for d in servers:
        d.stop()


def run_with_resolver(tickerd, tmp_path, dns, *args, name="run"):
    """tickerd run whose resolver is `dns` (a bind-mounted resolv.conf in a
    private mount namespace; unshare execs, so the pid is tickerd's)."""
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {dns.addr}\noptions timeout:5 attempts:1\n")
    port = free_port()
    cmd = (f"mount --bind {conf} /etc/resolv.conf && exec {tickerd.binary} run "
           f"--listen 127.0.0.1:{port} " + " ".join(args))
    p = Proc(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd], tickerd.dir, name,
             env=KEYS, port=port)
    tickerd.procs.append(p)
    p.start()
    wait_port(port, timeout=15, proc=p)
    return p


def healthz_seconds(proc):
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/healthz", timeout=10) as r:
            r.read()
    except urllib.error.HTTPError as e:
        e.read()
    return time.monotonic() - t0


def test_a_slow_name_lookup_does_not_block_the_loop(tickerd, tmp_path, fake_dns):
    dns = fake_dns(delay=3.0)
    sim = tickerd.sim(rate=200)
    run = run_with_resolver(tickerd, tmp_path, dns, "--url",
                            f"ws://slow.tickerd.test:{sim.port}/v2/iex", "--subscribe",
                            "trades=*", "--stdout", "--stats-interval", "0.2")
    wait_until(lambda: dns.queries, what="the lookup")
    t0 = dns.queries[0][2]
    worst = 0.0
    while time.monotonic() - t0 < 2.5:  # the resolver has not answered yet
        worst = max(worst, healthz_seconds(run))
        time.sleep(0.1)
    assert worst < 0.5, f"/healthz took {worst:.2f}s while the lookup was pending"
    assert not run.count_log(r"subscribed, streaming")
    run.wait_for_log(r"upstream ws://slow.tickerd.test:\d+/v2/iex: subscribed, streaming",
                     timeout=15)
    wait_until(lambda: len(run.stdout_lines()) >= 20, what="events through the slow name")


def test_lookup_failures_say_why(tickerd, tmp_path, fake_dns):
    dns = fake_dns()
    run = run_with_resolver(tickerd, tmp_path, dns, "--url", "ws://nxhost.tickerd.test:9/v2/iex",
                            "--url", "ws://hanghost.tickerd.test:9/v2/iex", "--stdout",
                            "--resolve-timeout", "1", "--backoff-min", "5", "--backoff-max",
                            "5", "--stats-interval", "0")
    run.wait_for_log(r"upstream ws://nxhost.tickerd.test:9/v2/iex: cannot resolve "
                     r"'nxhost.tickerd.test': unknown node or service; reconnecting")
    run.wait_for_log(r"upstream ws://hanghost.tickerd.test:9/v2/iex: cannot resolve "
                     r"'hanghost.tickerd.test': no answer from the resolver within 1.0s; "
                     r"reconnecting")
    assert healthz_seconds(run) < 0.5


def test_unresolvable_name_without_a_fake_resolver(tickerd):
    run = tickerd.run(listen=True, url=["ws://nonexistent.invalid:9/v2/iex"], env=KEYS,
                      stdout=True, backoff_min=5, backoff_max=5, stats_interval=0)
    run.wait_for_log(r"upstream ws://nonexistent.invalid:9/v2/iex: cannot resolve "
                     r"'nonexistent.invalid': ")


# ---- connection failures in words

def test_connect_failures_say_why(tickerd):
    port = free_port()  # nothing listens there
    sim = tickerd.sim(rate=10)
    run = tickerd.run(url=[f"ws://127.0.0.1:{port}/v2/iex", sim.url("/v2/iex", scheme="wss")],
                      env=KEYS, stdout=True, backoff_min=5, backoff_max=5, stats_interval=0)
    run.wait_for_log(rf"upstream ws://127.0.0.1:{port}/v2/iex: connect to 127.0.0.1:{port} "
                     r"failed: Connection refused; reconnecting")
    run.wait_for_log(rf"upstream wss://127.0.0.1:{sim.port}/v2/iex: TLS handshake failed: the "
                     r"server did not speak TLS")
    assert not run.count_log(r"SSL err 1|closed before established")


def test_watchdog_says_it_closed_a_silent_upstream(tickerd):
    sim = tickerd.sim(rate=300, symbols=3, stall=4)
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, stdout=True, subscribe="quotes=*",
                      ping_interval=0.3, ping_timeout=0.3, conn_limit_backoff=1,
                      backoff_min=0.05, stats_interval=0)
    run.wait_for_log(r"upstream \S+: closed by tickerd: watchdog: no data and no pong for "
                     r"[0-9.]+s \(--ping-interval 0.3s, --ping-timeout 0.3s\); reconnecting in",
                     timeout=15)
    assert not run.count_log(r"connection (lost|closed); reconnecting")


def test_certificate_is_checked_against_the_name_not_the_address(tickerd, tmp_path):
    from test_tls import make_ca, make_server_cert
    make_ca(tmp_path, "ca")
    # (a DNS name in the SAN: OpenSSL then ignores the subject's CN=localhost)
    cert, key = make_server_cert(tmp_path, "ca", "iponly", "IP:127.0.0.1,DNS:example.com", 1)
    sim = tickerd.sim(tls_cert=cert, tls_key=key, rate=100, max_conns=0)
    ok = tickerd.run(url=[f"wss://127.0.0.1:{sim.port}/v2/iex"], ca_file=tmp_path / "ca.pem",
                     env=KEYS, stdout=True, subscribe="trades=*", stats_interval=0, name="byip")
    ok.wait_for_log(r"subscribed, streaming", timeout=15)
    # connected to 127.0.0.1 as well, but the certificate does not name localhost
    bad = tickerd.run(url=[f"wss://localhost:{sim.port}/v2/iex"], ca_file=tmp_path / "ca.pem",
                      env=KEYS, stdout=True, subscribe="trades=*", stats_interval=0,
                      backoff_min=0.05, backoff_max=0.2, name="byname")
    bad.wait_for_log(r"TLS certificate verification failed for localhost", count=2, timeout=15)
    assert not bad.count_log(r"upstream \S+: connected")
    assert bad.stdout() == b""


def test_polygon_subscribed_line_names_every_topic(tickerd):
    sim = tickerd.sim(rate=100)
    run = tickerd.run(feed="polygon", url=[sim.url("/stocks")], env={"POLYGON_API_KEY": "K"},
                      stdout=True, subscribe="trades=AAPL,MSFT;quotes=*", stats_interval=0)
    m = run.wait_for_log(r"upstream \S+/stocks: subscribed, streaming \(([^)]*)\)")
    topics = sorted(m.group(1).decode().split(", "))
    assert topics == ["Q.*", "T.AAPL", "T.MSFT"], m.group(0)
    assert run.count_log(r"subscribed, streaming") == 1


def test_world_readable_config_with_secrets_is_warned_about(tickerd, tmp_path):
    sim = tickerd.sim(rate=10, max_conns=0)
    warn = r"holds secrets and every user of this machine may read it \(mode 644\)"
    conf = tmp_path / "open.ini"
    conf.write_text(f"[run]\nurl = {sim.url('/v2/iex')}\nsecret = s3cr3t\nkey = PKTEST\n"
                    "subscribe = trades=AAPL\nstats-interval = 0\n")
    conf.chmod(0o644)
    run = tickerd.start("run", "-c", conf, "--stdout", name="open")
    run.wait_for_log(r"subscribed, streaming")
    assert run.count_log(warn) == 1
    closed = tmp_path / "closed.ini"
    closed.write_text(conf.read_text())
    closed.chmod(0o600)
    run2 = tickerd.start("run", "-c", closed, "--stdout", name="closed")
    run2.wait_for_log(r"subscribed, streaming")
    assert run2.count_log(r"holds secrets") == 0
    # no secret in it: no warning either
    plain = tmp_path / "plain.ini"
    plain.write_text(f"[run]\nurl = {sim.url('/v2/iex')}\nstats-interval = 0\n"
                     "subscribe = trades=AAPL\n")
    plain.chmod(0o644)
    run3 = tickerd.start("run", "-c", plain, "--stdout", name="plain", env=KEYS)
    run3.wait_for_log(r"subscribed, streaming")
    assert run3.count_log(r"holds secrets") == 0


def test_repeated_signals_during_shutdown_still_exit_cleanly(tickerd):
    # timeout(1) and impatient users signal more than once; a signal that
    # arrives while tickerd shuts down must not kill it with the default action
    sim = tickerd.sim(rate=500, symbols=5)
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=*", stdout=True)
    wait_until(lambda: len(run.stdout_lines()) >= 20, what="events on stdout")
    run.signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while run.poll() is None and time.monotonic() < deadline:
        try:
            run.signal(signal.SIGINT)
        except ProcessLookupError:
            break
        time.sleep(0.002)
    assert run.popen.wait(10) == 0, run.describe()
