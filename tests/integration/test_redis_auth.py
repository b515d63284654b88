# SPDX-License-Identifier: Apache-2.0
"""tickerd's Redis connection against a real redis-server with a password,
an ACL user, a wrong password, commands Redis refuses, a Redis that stops
answering (SIGSTOP) and a TCP listener that never answers: events arrive
where they should; each failure is one clear line naming the URL with its
password masked, is counted in /metrics and makes /healthz degraded; the
password never appears in the log, /metrics or the command line."""
import json
import socket
import time

from harness import event_channels, read_record, redis_acl_user
from test_gateway import http_get, metric
from test_run_redis import expected_for, wait_sim_done

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
SECRET = "pw-Zq81xK"


def start(tickerd, sim, url, flag=False, **opts):
    """tickerd run with a gateway (for /healthz and /metrics); the Redis URL
    from TICKERD_REDIS_URL, or as --redis with flag=True."""
    env = dict(KEYS)
    if flag:
        opts["redis"] = url
    else:
        env["TICKERD_REDIS_URL"] = url
    opts.setdefault("subscribe", "trades=*;quotes=*")
    opts.setdefault("stats_interval", 0.5)
    return tickerd.run(url=[sim.url("/v2/iex")], env=env, listen=True, **opts)


def health(run):
    status, _, body = http_get(run, "/healthz")
    return status, json.loads(body)


def wait_health(run, want_status, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        status, h = health(run)
        if status == want_status or time.monotonic() > deadline:
            return status, h
        time.sleep(0.05)


def wait_metric(run, name, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = metric(run, name)
        if pred(v) or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def assert_secret_hidden(run, secret):
    _, _, body = http_get(run, "/metrics")
    assert secret.encode() not in body
    assert secret.encode() not in run.stderr()
    assert secret.encode() not in (open(f"/proc/{run.pid}/cmdline", "rb").read())


def check_delivery(coll, rec, patterns):
    record = read_record(rec)
    want = expected_for(record, patterns=patterns)
    total = sum(len(v) for v in want.values())
    assert total > 500
    coll.wait_count(total, timeout=30)
    got = {}
    for ch, data in coll.wait_quiet(0.5):
        got.setdefault(ch, []).append(data)
    assert got == want
    return record


def test_requirepass_from_env(tickerd, redis_server, redis_collector, tmp_path):
    redis = redis_server(requirepass=SECRET)
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6)
    coll = redis_collector(redis, patterns=("trades.*", "quotes.*"))
    run = start(tickerd, sim, f"redis://:{SECRET}@127.0.0.1:{redis.port}")
    wait_sim_done(sim, 3000)
    check_delivery(coll, rec, ("trades.*", "quotes.*"))
    run.wait_for_log(rf"redis redis://:\*\*\*@127\.0\.0\.1:{redis.port}: connected")
    assert health(run)[1]["redis"] == "up"
    assert_secret_hidden(run, SECRET)
    assert run.count_log("visible to other users") == 0


def test_acl_user_with_publish_and_hset_only(tickerd, redis_server, redis_collector, tmp_path):
    redis = redis_server(**redis_acl_user(tmp_path, "tick", SECRET, "~last:* &* +publish +spublish +hset"))
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6)
    coll = redis_collector(redis, patterns=("trades.*", "quotes.*"))
    run = start(tickerd, sim, f"redis://tick:{SECRET}@127.0.0.1:{redis.port}")
    wait_sim_done(sim, 3000)
    record = check_delivery(coll, rec, ("trades.*", "quotes.*"))
    last = {}
    for ev in record:
        for ch in event_channels(ev):
            if ch.startswith("quotes."):
                last[ch[7:]] = ev
    assert last
    r = redis.client()
    for sym, ev in last.items():
        assert r.hget("last:quotes", sym) == ev
    assert metric(run, "redis_errors_total") == 0
    assert_secret_hidden(run, SECRET)


def test_wrong_password_is_one_line_and_retried(tickerd, redis_server):
    redis = redis_server(requirepass=SECRET)
    wrong = "wrong-Pw77q"
    sim = tickerd.sim(rate=500)
    run = start(tickerd, sim, f"redis://:{wrong}@127.0.0.1:{redis.port}", flag=True)
    run.wait_for_log(rf"redis redis://:\*\*\*@127\.0\.0\.1:{redis.port}: AUTH rejected by Redis: "
                     r"WRONGPASS")
    before = redis.client().info("stats")["total_connections_received"]
    time.sleep(2.5)
    after = redis.client().info("stats")["total_connections_received"]
    assert after - before >= 2, "no retry"
    assert run.count_log("AUTH rejected") == 1, "one line, not one per retry"
    assert run.count_log("--redis on the command line is visible") == 1
    assert run.poll() is None
    status, h = health(run)
    assert status == 503 and h["redis"] == "down" and h["status"] == "degraded"
    assert metric(run, "redis_healthy") == 0
    _, _, body = http_get(run, "/metrics")
    assert wrong.encode() not in body and wrong.encode() not in run.stderr()


def test_noauth_degrades_and_counts_drops(tickerd, redis_server):
    redis = redis_server(requirepass=SECRET)
    sim = tickerd.sim(rate=20000, batch=50, symbols=50)
    run = start(tickerd, sim, f"redis://127.0.0.1:{redis.port}", redis_buffer=1)
    run.wait_for_log(r"PING rejected by Redis: NOAUTH")
    status, h = health(run)
    assert status == 503 and h["redis"] == "down"
    assert wait_metric(run, "redis_dropped_total", lambda v: v > 0) > 0
    run.wait_for_log(r"buffer full")


def test_refused_commands_are_dropped_and_degrade(tickerd, redis_server, tmp_path):
    """Any error reply: an ACL user that may publish only trades. Every other
    event is rejected, counted as dropped exactly, and /healthz says so."""
    redis = redis_server(**redis_acl_user(tmp_path, "tick", SECRET, "~last:* &trades.* +publish +hset"))
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6)
    run = start(tickerd, sim, f"redis://tick:{SECRET}@127.0.0.1:{redis.port}")
    wait_sim_done(sim, 3000)
    record = read_record(rec)
    chans = [ch for ev in record for ch in event_channels(ev)]
    refused = sum(1 for ch in chans if not ch.startswith("trades."))
    assert refused > 100 and len(chans) - refused > 100
    assert wait_metric(run, "redis_rejected_total", lambda v: v >= refused) == refused
    assert metric(run, "redis_dropped_total") == refused
    assert metric(run, "redis_published_total") == len(chans) - refused
    assert metric(run, "redis_errors_total") == refused
    status, h = health(run)
    assert status == 503 and h["redis"] == "rejecting"
    run.wait_for_log(r"PUBLISH rejected by Redis: NOPERM")
    assert run.count_log("PUBLISH rejected") <= 3  # rate-limited


def test_sigstopped_redis_is_noticed(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=1000)
    coll = redis_collector(redis, patterns=("quotes.*",))
    run = start(tickerd, sim, redis.url, redis_timeout=1)
    coll.wait_count(50)
    assert wait_health(run, 200)[0] == 200
    redis.pause()
    t0 = time.monotonic()
    try:
        status, h = wait_health(run, 503, timeout=5)
        assert status == 503 and h["redis"] in ("not answering", "down")
        assert time.monotonic() - t0 < 2.5
        run.wait_for_log(r"Redis stopped answering: no reply within 1\.0 s", timeout=5)
        assert time.monotonic() - t0 < 3.0
    finally:
        redis.resume()
    run.wait_for_log(r"connected \(recovered\)", timeout=15)
    assert wait_health(run, 200)[0] == 200
    assert metric(run, "redis_timeouts_total") >= 1


def test_silent_listener_is_noticed(tickerd):
    """A TCP listener that accepts and never answers."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        port = ls.getsockname()[1]
        sim = tickerd.sim(rate=500)
        run = start(tickerd, sim, f"redis://127.0.0.1:{port}", redis_timeout=1)
        run.wait_for_log(r"no answer within 1\.0 s \(handshake\)", timeout=5)
        status, h = health(run)
        assert status == 503 and h["redis"] == "down"
        time.sleep(2.5)
        assert run.count_log("no answer within") == 1
        assert wait_metric(run, "redis_timeouts_total", lambda v: v >= 2) >= 2


def test_source_notices_a_sigstopped_redis(tickerd, redis):
    """A --source gateway has nothing outstanding on its subscription: it
    PINGs after half the timeout of silence, so a mute Redis is noticed."""
    fed = tickerd.run(listen=True, source=redis.url, client=["demo:demo"], redis_timeout=1)
    fed.wait_for_log(r"redis source \S+: connected")
    assert wait_health(fed, 200)[0] == 200
    redis.pause()
    t0 = time.monotonic()
    try:
        status, h = wait_health(fed, 503, timeout=5)
        assert status == 503 and h["source"] == "down"
        assert time.monotonic() - t0 < 3.0
        fed.wait_for_log(r"redis source \S+: Redis stopped answering")
    finally:
        redis.resume()
    assert wait_health(fed, 200, timeout=15)[0] == 200
