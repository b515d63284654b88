"""tickerd run's upstream side under hostile or broken vendors: an oversized
message is skipped whole, name lookups do not block the loop, signals."""
import re
import time

from harness import wait_port

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
