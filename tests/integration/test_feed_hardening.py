"""tickerd run's upstream side under hostile or broken vendors: an oversized
message is skipped whole, name lookups do not block the loop, signals."""
import calendar
import json
import os
import re
import signal
import time

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
