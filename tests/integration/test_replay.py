# SPDX-License-Identifier: Apache-2.0
"""Record and replay: tickerd run --record writes every upstream frame,
tickerd replay serves the files in the vendor's dialect, and a second
tickerd fed by the replay publishes exactly the same bytes per channel; a
torn tail ends a file with one log line; Polygon recordings, pacing and
--from/--to; libtickerd reads a replay as it reads the vendor; a recorder
killed mid-stream loses at most its last flush interval."""
import json
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from harness import Proc, free_port, group_by_channel, read_record, wait_port

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
SUBS = "trades=*;quotes=*;bars=*;statuses=*;news=*"
PATTERNS = ("trades.*", "quotes.*", "bars.*", "statuses.*", "news.*", "corrections.*",
            "cancelErrors.*")
PATHS = ("/v2/iex", "/v1beta1/news")


def start_replay(tickerd, files, *args):
    port = free_port()
    p = tickerd.start("replay", *[str(f) for f in files], "--listen", f"127.0.0.1:{port}",
                      *args, port=port)
    wait_port(port, timeout=15, proc=p)
    return p


def run_into_redis(tickerd, upstream, redis, **opts):
    return tickerd.run(url=[upstream.url(u) for u in PATHS], env=KEYS, subscribe=SUBS,
                       redis=redis.url, backoff_min=0.05, backoff_max=0.5, **opts)


def stdout_settled(proc, quiet=1.0, timeout=30.0):
    """proc's stdout lines once none arrived for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    lines, since = proc.stdout_lines(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = proc.stdout_lines()
        if len(now) != len(lines):
            lines, since = now, time.monotonic()
        elif lines and time.monotonic() - since >= quiet:
            break
    return lines


def test_replay_at_max_speed_publishes_the_same_bytes(tickerd, redis_server, redis_collector,
                                                      tmp_path):
    rec_dir = tmp_path / "rec"
    # 20 s of the simulator: 1000 events/s on /v2/iex, 10/s of news
    sim = tickerd.sim(rate=1000, count=20200, symbols=12, batch=20)
    redis1, redis2 = redis_server(), redis_server()
    coll1 = redis_collector(redis1, patterns=PATTERNS)
    run1 = run_into_redis(tickerd, sim, redis1, record=rec_dir)
    sim.wait_for_log(r"--count 20200 reached", timeout=60)
    coll1.wait_quiet(1.5, timeout=30)
    assert run1.stop() == 0
    assert run1.count_log(r"record: .* closed \(\d+ bytes\)") == 2
    files = sorted(rec_dir.glob("*.tdrec.zst"))
    assert [f.name.split("_")[:2] for f in files] == [["alpaca", "v1beta1-news"],
                                                       ["alpaca", "v2-iex"]]
    first = group_by_channel(coll1.snapshot())
    total = sum(len(v) for v in first.values())
    assert total > 15000, "the recording is too thin to prove anything"
    assert any(ch.startswith("news.") for ch in first)

    replay = start_replay(tickerd, files, "--speed", "max")
    coll2 = redis_collector(redis2, patterns=PATTERNS)
    run2 = run_into_redis(tickerd, replay, redis2)
    replay.wait_for_log(r"end of the recordings", timeout=60, count=2)
    coll2.wait_count(total, timeout=60)
    coll2.wait_quiet(1.0, timeout=30)
    second = group_by_channel(coll2.snapshot())
    assert sorted(second) == sorted(first)
    for ch in first:
        assert second[ch] == first[ch], f"{ch}: {len(second[ch])} replayed, {len(first[ch])} live"
    assert run2.poll() is None and replay.poll() is None


def test_torn_tail_replays_up_to_the_tear(tickerd, tmp_path):
    rec_dir, record = tmp_path / "frames", tmp_path / "sim.jsonl"
    sim = tickerd.sim(rate=3000, count=6000, symbols=8, batch=10, record=record,
                      record_frames=rec_dir)
    run1 = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=*;quotes=*",
                       stdout=True)
    sim.wait_for_log(r"--count 6000 reached", timeout=30)
    assert sim.stop() == 0  # ends the recording's files
    run1.stop()
    sent = read_record(record)
    (full,) = rec_dir.glob("alpaca_v2-iex_*.tdrec.zst")
    torn = tmp_path / "torn.tdrec.zst"
    data = full.read_bytes()
    torn.write_bytes(data[: len(data) * 6 // 10])  # a recorder killed mid-write

    replay = start_replay(tickerd, [torn], "--speed", "max")
    run2 = tickerd.run(url=[replay.url("/v2/iex")], env=KEYS, subscribe="trades=*;quotes=*",
                       stdout=True)
    replay.wait_for_log(r"end of the recordings", timeout=30)
    assert replay.count_log(r"torn tail after \d+ records") == 1
    assert replay.count_log(r"W replay: .*torn\.tdrec\.zst: torn tail") == 1
    # stdout lines are {"channel":...,"data":EVENT}: the event's bytes
    got = [line[line.index(b',"data":') + 8:-1] for line in stdout_settled(run2)]
    assert 1000 < len(got) < len(sent), (len(got), len(sent))
    # what arrived is the recording's beginning, event for event
    assert got == sent[: len(got)]
    assert replay.poll() is None


def test_replay_refuses_what_it_cannot_serve(tickerd, tmp_path):
    junk = tmp_path / "junk.tdrec.zst"
    junk.write_bytes(b"not zstd at all")
    p = tickerd.start("replay", str(junk), "--listen", f"127.0.0.1:{free_port()}")
    assert p.popen.wait(20) == 2
    assert b"junk.tdrec.zst" in p.stderr()
    p = tickerd.start("replay", "--listen", f"127.0.0.1:{free_port()}")
    assert p.popen.wait(20) == 2
    assert b"no recording given" in p.stderr()


def test_polygon_replay_paced_and_windowed(tickerd, tmp_path):
    """A Polygon recording (sim --record-frames) replayed in Polygon's
    dialect: at --speed 2 it takes about half its span, and --from/--to cut
    it by receive time."""
    rec_dir, record = tmp_path / "frames", tmp_path / "sim.jsonl"
    sim = tickerd.sim(rate=1000, count=3000, symbols=8, batch=10, record=record,
                      record_frames=rec_dir)
    poly = {"POLYGON_API_KEY": "PKPOLY"}
    subs = "trades=*;quotes=*"
    rec_run = tickerd.run(feed="polygon", url=[sim.url("/stocks")], env=poly, subscribe=subs,
                          stdout=True)
    sim.wait_for_log(r"--count 3000 reached", timeout=30)
    assert sim.stop() == 0
    rec_run.stop()
    sent = read_record(record)
    (f,) = rec_dir.glob("polygon_stocks_*.tdrec.zst")

    replay = start_replay(tickerd, [f], "--speed", "2")
    run = tickerd.run(feed="polygon", url=[replay.url("/stocks")], env=poly, subscribe=subs,
                      stdout=True)
    m = replay.wait_for_log(rb"end of the recordings: .* in ([\d.]+) s", timeout=30)
    assert 1.0 < float(m[1]) < 2.5, m[0]  # a span of ~3 s at twice the speed
    got = [line[line.index(b',"data":') + 8:-1] for line in stdout_settled(run)]
    assert got == sent
    run.stop()
    replay.stop()

    # the middle second, by receive time (the events' "t" is their send time)
    t0 = json.loads(sent[0])["t"] / 1000
    lo, hi = t0 + 1.0, t0 + 2.0
    iso = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(x)) + f".{int(x * 1000) % 1000:03d}Z"
           for x in (lo, hi)]
    replay = start_replay(tickerd, [f], "--speed", "max", "--from", iso[0], "--to", iso[1])
    run = tickerd.run(feed="polygon", url=[replay.url("/stocks")], env=poly, subscribe=subs,
                      stdout=True)
    replay.wait_for_log(r"end of the recordings", timeout=30)
    got = [line[line.index(b',"data":') + 8:-1] for line in stdout_settled(run)]
    assert 500 < len(got) < 1500, len(got)
    i = sent.index(got[0])
    assert got == sent[i:i + len(got)]  # one contiguous stretch
    ts = [json.loads(ev)["t"] / 1000 for ev in got]
    assert lo - 0.1 < ts[0] and ts[-1] < hi + 0.1


@pytest.mark.parametrize("vendor,path", [("alpaca", "/v2/iex"), ("polygon", "/stocks")])
def test_libtickerd_reads_a_replay(tickerd, tickerd_bin, tmp_path, vendor, path):
    """libtickerd (examples/print_quotes) connects to tickerd replay as to the
    vendor: its quotes are the recording's, in order."""
    rec_dir, record = tmp_path / "frames", tmp_path / "sim.jsonl"
    sim = tickerd.sim(rate=2000, count=4000, symbols=4, record=record, record_frames=rec_dir)
    env = {"POLYGON_API_KEY": "k"} if vendor == "polygon" else KEYS
    feed = {"feed": "polygon"} if vendor == "polygon" else {}
    tickerd.run(url=[sim.url(path)], env=env, subscribe="quotes=AAPL,MSFT", stdout=True, **feed)
    sim.wait_for_log(r"--count 4000 reached", timeout=30)
    assert sim.stop() == 0
    (f,) = rec_dir.glob("*.tdrec.zst")
    replay = start_replay(tickerd, [f], "--speed", "max")
    binary = Path(tickerd_bin).parent / "print_quotes"
    args = (["--polygon"] if vendor == "polygon" else []) + ["--events", "50", "--seconds", "20",
                                                              replay.url(), "AAPL", "MSFT"]
    p = Proc([binary, *args], tmp_path, "print_quotes").start()
    assert p.popen.wait(30) == 0, p.describe()
    assert not p.sanitizer_reports(), p.describe(8000)
    quotes = [line for line in p.stdout_lines() if line.startswith(b"quotes ")]
    assert len(quotes) == 50
    sym = "sym" if vendor == "polygon" else "S"
    want = [json.loads(ev) for ev in read_record(record)]
    want = [ev for ev in want if ev.get(sym) in ("AAPL", "MSFT")][:50]
    assert [q.split()[1].decode() for q in quotes] == [ev[sym] for ev in want]


def test_record_metrics(tickerd, tmp_path):
    """/metrics counts what --record wrote; every series is documented."""
    sim = tickerd.sim(rate=1000, symbols=4)
    port = free_port()
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="quotes=*",
                      record=tmp_path / "rec", metrics_listen=f"127.0.0.1:{port}")
    wait_port(port, timeout=15, proc=run)
    run.wait_for_log(r"subscribed, streaming", timeout=15)
    text = ""
    for _ in range(50):  # the first flush (200 ms) and a few frames
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        m = re.search(r"^tickerd_record_bytes_total (\d+)$", text, re.M)
        if m and int(m[1]) > 0:
            break
        time.sleep(0.1)
    frames = int(re.search(r"^tickerd_record_frames_total (\d+)$", text, re.M)[1])
    assert frames > 3 and int(m[1]) > 0, text
    assert re.search(r"^tickerd_record_errors_total 0$", text, re.M)
    ops = (Path(__file__).parents[2] / "docs/OPERATIONS.md").read_text()
    for name in re.findall(r"^(tickerd_record_\w+) ", text, re.M):
        assert f"`{name}`" in ops, name


def test_a_killed_recorder_loses_at_most_the_last_flush(tickerd, tmp_path):
    """SIGKILL tickerd run --record mid-stream: the file is read up to its
    tear (one log line), and what it replays is what the killed tickerd
    published, less at most the last moments (the writer flushes every
    200 ms)."""
    sim = tickerd.sim(rate=4000, symbols=8, batch=10)
    run = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, subscribe="trades=*;quotes=*",
                      record=tmp_path / "rec", stdout=True)
    run.wait_for_log(r"subscribed, streaming", timeout=15)
    time.sleep(2.5)
    os.kill(run.pid, signal.SIGKILL)
    run.popen.wait(10)
    live = [line[line.index(b',"data":') + 8:-1] for line in run.stdout_lines()]
    (f,) = (tmp_path / "rec").glob("*.tdrec.zst")
    replay = start_replay(tickerd, [f], "--speed", "max")
    run2 = tickerd.run(url=[replay.url("/v2/iex")], env=KEYS, subscribe="trades=*;quotes=*",
                       stdout=True)
    replay.wait_for_log(r"end of the recordings", timeout=30)
    assert replay.count_log(r"torn tail after \d+ records") == 1
    got = [line[line.index(b',"data":') + 8:-1] for line in stdout_settled(run2)]
    assert len(got) > 2000 and got == live[:len(got)]
    # 4000 events/s: the last flush is at most 200 ms old (plus scheduling)
    assert len(live) - len(got) < 4000 * 0.6, (len(live), len(got))
