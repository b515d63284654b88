# SPDX-License-Identifier: Apache-2.0
"""redis+sentinel://: one primary, one replica, three sentinels
(redis-server --sentinel). tickerd finds the primary through the sentinels
(the first one listed is down);
the primary is killed (-9) mid-stream; the sentinels promote the replica,
tickerd follows it, and publishing resumes. Events sent well before the kill
and after the switch all arrive; what was lost in between is logged and in
/metrics."""
import json
import time
from datetime import datetime

import pytest

from harness import RedisCollector, RedisSentinels, event_channels, free_port, read_record
from test_gateway import metric
from test_redis_auth import start
from test_run_redis import wait_sim_done


@pytest.fixture
def sentinels(tmp_path):
    s = RedisSentinels(tmp_path / "sentinel")
    yield s
    s.stop()


def sent_at(ev):
    """The sim's send time of a trade or quote (its "t"), in seconds."""
    t = json.loads(ev).get("t")
    return datetime.fromisoformat(t[:26].rstrip("Z") + "+00:00").timestamp() if t else None


def test_follows_the_promoted_replica(tickerd, sentinels, tmp_path):
    # One collector on each: the primary's sees what is published before the
    # kill, the replica's what is published once it is promoted.
    pats = ("quotes.*", "trades.*")
    colls = [RedisCollector(sentinels.primary.port, patterns=pats).start(),
             RedisCollector(sentinels.replica.port, patterns=pats).start()]
    coll = colls[0]
    try:
        rec = tmp_path / "sim.jsonl"
        sim = tickerd.sim(record=rec, rate=1000, count=9000, symbols=5)
        # The first sentinel listed is not there: tickerd asks the next one.
        dead = free_port()
        url = sentinels.url.replace("redis+sentinel://", f"redis+sentinel://127.0.0.1:{dead},")
        run = start(tickerd, sim, url, redis_timeout=1)
        run.wait_for_log(rf"master mymaster is at 127\.0\.0\.1:{sentinels.primary.port}")
        coll.wait_count(1500, timeout=20)
        killed_at = time.time()
        sentinels.primary.kill()
        run.wait_for_log(rf"master mymaster moved from 127\.0\.0\.1:{sentinels.primary.port} to "
                         rf"127\.0\.0\.1:{sentinels.replica.port}", timeout=20)
        run.wait_for_log(rf"\[127\.0\.0\.1:{sentinels.replica.port}\]: connected", timeout=20)
        switched_at = time.time()
        wait_sim_done(sim, 9000, timeout=60)
        record = [ev for ev in read_record(rec) if event_channels(ev)]
        want = {}
        for ev in record:
            for ch in event_channels(ev):
                if ch.split(".")[0] in ("quotes", "trades"):
                    want.setdefault(ev, 0)
                    want[ev] += 1
        got = {}
        colls[0].stop()  # its server is gone
        for _, data in colls[0].snapshot() + colls[1].wait_quiet(1.0, timeout=30):
            got[data] = got.get(data, 0) + 1
        before = [ev for ev in want if (sent_at(ev) or killed_at) < killed_at - 0.5]
        after = [ev for ev in want if (sent_at(ev) or 0) > switched_at + 0.5]
        assert len(before) > 1000 and len(after) > 1000
        gone = [ev for ev in before if ev not in got]
        assert not gone, f"{len(gone)} of {len(before)} sent before the kill missing: {gone[:3]}"
        gone = [ev for ev in after if ev not in got]
        assert not gone, f"{len(gone)} of {len(after)} sent after the switch missing: {gone[:3]}"
        missing = sum(want.values()) - sum(min(got.get(ev, 0), n) for ev, n in want.items())
        lost = metric(run, "redis_lost_total")
        assert metric(run, "redis_master_switches_total") == 1
        assert metric(run, "redis_dropped_total") == lost
        # What never arrived was in flight at the kill (counted), or published
        # on the primary and not yet read by its collector when it died.
        assert missing <= lost + 100, (missing, lost)
        run.wait_for_log(rf"{lost} events in flight lost")
        assert run.poll() is None
    finally:
        for c in colls:
            c.stop()
