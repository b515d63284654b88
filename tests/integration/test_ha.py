# SPDX-License-Identifier: Apache-2.0
"""--ha-lease: instances on one vendor account share a lease in Redis; only
the holder connects upstream and publishes; a standby takes over when the
holder dies, and a holder paused past its lease fences itself."""
import json
import re
import signal
import time

from harness import RedisCollector, RedisSentinels
from test_run_metrics import http_get, metric_value

ENV = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
TTL = 1.5


def health(proc):
    return json.loads(http_get(f"http://127.0.0.1:{proc.port}/healthz")[1])


def metric(proc, name):
    return metric_value(http_get(f"http://127.0.0.1:{proc.port}/metrics")[1], name)


def start_ha(tickerd, sim, redis, name, subscribe="trades=*", **opts):
    url = redis if isinstance(redis, str) else redis.url
    return tickerd.run(url=sim.url("/v2/iex"), redis=url, ha_lease="acct", ha_ttl=TTL,
                       subscribe=subscribe, listen=True, client="c:d", stats_interval=0,
                       backoff_min=0.05, backoff_max=0.3, env=ENV, name=name, **opts)


def sim_opens(sim):
    return len(re.findall(rb"conn #\d+ open", sim.stderr()))


def wait_until(cond, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def two_instances(tickerd, sim, redis, b_subscribe="trades=*"):
    a = start_ha(tickerd, sim, redis, "ha-a")
    a.wait_for_log(r"ha: lease acct: now ACTIVE \(acquired the free lease\), fencing token 1")
    a.wait_for_log(r"subscribed, streaming")
    b = start_ha(tickerd, sim, redis, "ha-b", subscribe=b_subscribe)
    b.wait_for_log(r"ha: lease acct held by \S+:1; standing by")
    return a, b


def test_one_active_one_standby(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
    coll = redis_collector(redis, patterns=("trades.*",))
    a, b = two_instances(tickerd, sim, redis)
    time.sleep(2 * TTL)  # several renewals and acquire attempts
    assert sim_opens(sim) == 1, sim.describe()
    assert sim.count_log(r"error 406") == 0
    ha, hb = health(a)["ha"], health(b)["ha"]
    assert ha["role"] == "active" and ha["fencing_token"] == 1, ha
    assert hb["role"] == "standby" and hb["holder"] == ha["holder"], hb
    assert health(b)["upstreams"] == [] and health(b)["source"] == "up"
    assert metric(a, "tickerd_ha_active") == 1 and metric(b, "tickerd_ha_active") == 0
    # the standby publishes nothing (its events come from Redis), the holder does
    assert metric(b, "tickerd_redis_published_total") == 0
    assert metric(a, "tickerd_redis_published_total") > 100
    assert len(coll.snapshot()) > 100
    assert redis.client().get("lease:acct:interest") == b"trades=*"


def kill_and_wait_resumed(proc, coll, ttl):
    """SIGKILL (no release: the lease has to expire); publishing resumes
    within ttl + 1 s."""
    proc.popen.kill()
    proc.popen.wait(5)
    t0 = time.monotonic()
    time.sleep(0.1)
    n = len(coll.snapshot())
    assert wait_until(lambda: len(coll.snapshot()) > n + 10, ttl + 3)
    took = time.monotonic() - t0
    assert took < ttl + 1.0, f"publishing resumed {took:.2f} s after the kill"


def test_kill_the_active_the_standby_takes_over(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
    coll = redis_collector(redis, patterns=("trades.*",))
    # B subscribes nothing itself: what it publishes is the interest A stored
    a, b = two_instances(tickerd, sim, redis, b_subscribe="")
    coll.wait_count(20)
    kill_and_wait_resumed(a, coll, TTL)
    b.wait_for_log(r"now ACTIVE \(took over the lease\), fencing token 2")
    b.wait_for_log(r'subscribed, streaming .*"trades":\["\*"\]')
    hb = health(b)["ha"]
    assert hb["role"] == "active" and hb["takeovers"] == 1 and hb["fencing_token"] == 2, hb
    assert 0 <= hb["last_takeover_seconds"] < TTL
    assert sim.count_log(r"error 406") == 0


def test_paused_active_fences_itself(tickerd, redis, redis_collector):
    # Two sim slots: the paused holder's connection stays open (a vendor
    # would drop it after its own timeout; the new holder retries a 406).
    sim = tickerd.sim(rate=200, symbols=4, max_conns=2)
    coll = redis_collector(redis, patterns=("trades.*",))
    a, b = two_instances(tickerd, sim, redis)
    coll.wait_count(20)
    before = metric(a, "tickerd_redis_published_total")
    a.signal(signal.SIGSTOP)
    b.wait_for_log(r"now ACTIVE \(took over the lease\), fencing token 2", timeout=TTL + 3)
    time.sleep(TTL)  # A's socket keeps filling with events it has not read
    a.signal(signal.SIGCONT)
    a.wait_for_log(r"ha: lease acct: now STANDBY \(lease (not renewed in time|lost)")
    time.sleep(0.5)
    after = metric(a, "tickerd_redis_published_total")
    # what was in flight when it was paused, nothing of what it read on waking
    assert after - before < 30, (before, after)
    sim.wait_for_log(r"conn #1 closed")  # it closed its upstream by itself
    assert health(a)["ha"]["role"] == "standby" and health(b)["ha"]["role"] == "active"
    time.sleep(TTL)  # and it stays a standby
    assert health(a)["ha"]["role"] == "standby"
    assert a.count_log(r"now ACTIVE") == 1
    payloads = [m[1] for m in coll.snapshot()]
    assert len(payloads) == len(set(payloads)), "an event was published twice"


def test_redis_restart_leaves_one_active(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
    a, b = two_instances(tickerd, sim, redis)
    redis.kill()  # the lease is gone with it (no persistence)
    a.wait_for_log(r"now STANDBY \(lease not renewed in time", timeout=TTL + 3)
    redis.start()
    coll = redis_collector(redis, patterns=("trades.*",))
    assert wait_until(lambda: a.count_log(r"now ACTIVE") + b.count_log(r"now ACTIVE") == 2,
                      3 * TTL)
    coll.wait_count(20, timeout=3 * TTL)
    time.sleep(TTL)
    roles = sorted(health(p)["ha"]["role"] for p in (a, b))
    assert roles == ["active", "standby"], roles
    assert a.count_log(r"now ACTIVE") + b.count_log(r"now ACTIVE") == 2


def active_of(procs):
    return [p for p in procs if health(p)["ha"]["role"] == "active"]


def test_three_instances_two_kills_in_a_row(tickerd, redis, redis_collector):
    sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
    coll = redis_collector(redis, patterns=("trades.*",))
    procs = list(two_instances(tickerd, sim, redis))
    procs.append(start_ha(tickerd, sim, redis, "ha-c"))
    procs[2].wait_for_log(r"standing by")
    for token in (2, 3):
        coll.wait_count(len(coll.snapshot()) + 10)
        (old,) = active_of(procs)
        old.popen.kill()
        old.popen.wait(5)
        procs.remove(old)
        t0 = time.monotonic()
        time.sleep(0.05)
        n = len(coll.snapshot())
        assert wait_until(lambda: len(coll.snapshot()) > n, TTL + 3)
        took = time.monotonic() - t0
        assert took < TTL + 1.0, f"publishing resumed {took:.2f} s after the kill"
        (new,) = active_of(procs)
        assert health(new)["ha"]["fencing_token"] == token
    assert sim.count_log(r"error 406") == 0


def test_sigterm_releases_the_lease(tickerd, redis):
    sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
    a, b = two_instances(tickerd, sim, redis)
    t0 = time.monotonic()
    assert a.stop() == 0
    b.wait_for_log(r"now ACTIVE \(took over the lease\)", timeout=TTL + 3)
    # released: the standby's next attempt (every ttl/3) wins, not the ttl
    assert time.monotonic() - t0 < TTL, "the lease was not released"
    assert a.count_log(r"ha: lease acct: released") == 1


def test_sentinel_failover_leaves_one_active(tickerd, tmp_path):
    sentinels = RedisSentinels(tmp_path / "sentinel")
    try:
        sim = tickerd.sim(rate=200, symbols=4, max_conns=1)
        a, b = two_instances(tickerd, sim, sentinels.url)
        sentinels.primary.kill()  # the lease may or may not have reached the replica
        sentinels.wait_master(sentinels.replica.port)
        coll = RedisCollector(sentinels.replica.port, patterns=("trades.*",)).start()
        try:
            coll.wait_count(20, timeout=10)  # publishing resumed on the new primary
            time.sleep(TTL)
            roles = sorted(health(p)["ha"]["role"] for p in (a, b))
            assert roles == ["active", "standby"], roles
        finally:
            coll.stop()
    finally:
        sentinels.stop()


def test_takeover_window_is_refilled_with_the_new_token(tickerd, redis, redis_collector):
    """kill -9 the active: the new holder refills the bars of the takeover
    window (from the old holder's last event it saw in Redis to its own
    first one), with a pending then a done notice carrying token 2; every
    bar is in the history exactly once."""
    from test_gap_notices import ns
    from test_refill import STEP, SYMS, rest_bars
    sim = tickerd.sim(rate=200, symbols=8, max_conns=1, bar_seconds=1)  # TSLA is the 7th
    coll = redis_collector(redis, channels=("tickerd.gaps",))
    spec = "bars=" + ",".join(SYMS)
    opts = dict(redis_history=10000, refill_bar_seconds=1, refill_delay=0.3)
    a = start_ha(tickerd, sim, redis, "ha-a", subscribe=spec, **opts)
    a.wait_for_log(r"now ACTIVE \(acquired the free lease\), fencing token 1")
    a.wait_for_log(r"subscribed, streaming")
    b = start_ha(tickerd, sim, redis, "ha-b", subscribe=spec, **opts)
    b.wait_for_log(r"ha: lease acct held by \S+:1; standing by")
    time.sleep(2.5)  # bars flow through A (and B sees them come from Redis)
    a.popen.kill()
    a.popen.wait(5)
    killed = time.time_ns()
    b.wait_for_log(r"now ACTIVE \(took over the lease\), fencing token 2", timeout=TTL + 3)
    notices = lambda: [json.loads(d) for ch, d in coll.messages if ch == "tickerd.gaps"]  # noqa
    assert wait_until(lambda: any(n["refill"] != "pending" for n in notices()), 10), b.describe()
    time.sleep(2.5)  # live bars after the window
    got = notices()
    b.stop()
    assert [n["refill"] for n in got] == ["pending", "done"], got
    for n in got:
        assert n["token"] == 2 and n["kinds"] == ["bars"] and n["symbols"] == SYMS, n
    assert (got[0]["from"], got[0]["to"]) == (got[1]["from"], got[1]["to"])
    lo, hi = ns(got[1]["from"]), ns(got[1]["to"])
    assert lo <= killed < hi < killed + int((TTL + 2) * 1e9), (lo, killed, hi)
    r = redis.client()
    entries = {s: [f for _, f in r.xrange(f"history:bars.{s}") if b"e" in f] for s in SYMS}
    t_first = min(ns(json.loads(f[b"e"])["t"]) for fs in entries.values() for f in fs)
    cutoff = hi + STEP
    rest = rest_bars(sim, t_first, cutoff)
    refilled = 0
    for s in SYMS:
        bars = [(json.loads(f[b"e"]), f.get(b"r")) for f in entries[s]]
        ts = [ns(b["t"]) for b, _ in bars]
        assert len(ts) == len(set(ts)), f"{s}: a bar twice"
        refilled += sum(1 for _, m in bars if m == b"1")
        have = {ns(b["t"]): {k: v for k, v in b.items() if k not in ("T", "S", "refilled")}
                for b, _ in bars if ns(b["t"]) <= cutoff}
        want = {ns(b["t"]): b for b in rest[s] if ns(b["t"]) >= min(ts)}
        assert have == want, f"{s}: missing {sorted(set(want) - set(have))[:3]}"
    assert refilled >= len(SYMS)  # the window held at least one bar of each
