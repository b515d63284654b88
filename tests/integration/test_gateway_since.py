# SPDX-License-Identifier: Apache-2.0
"""Resume from history: a gateway client that subscribes with
"since":{"quotes.AAPL":"<stream id>"} gets the channel's history after that
id, then live, each event carrying "stream_id"; checked against Redis's
XRANGE and the simulator's record: no duplicate, no hole at the seam, and a
client that goes away for 5 s and comes back with its last id loses
nothing."""
import asyncio
import json
import time

import harness
from harness import free_port, read_record
from test_client import example, run_example
from test_gateway_polygon import authed
from simclient import AUTHENTICATED, CONNECTED, auth, connect, recv, recv_ctl, run, split_array
from test_ha import wait_until
from test_run_redis import wait_sim_done

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
KEY = "history:quotes.AAPL"


def start(tickerd, redis, tmp_path, count, rate, **opts):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=rate, count=count, symbols=4)
    gw = tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url, listen=True,
                     client=["demo:demo"], subscribe="quotes=*", **opts)
    return sim, gw, rec


def sim_quotes(rec):
    return [e for e in read_record(rec)
            if json.loads(e).get("T") == "q" and json.loads(e)["S"] == "AAPL"]


async def sim_done(sim, count):
    await asyncio.get_running_loop().run_in_executor(None, wait_sim_done, sim, count)


def wait_xlen(r, n, timeout=20):
    deadline = time.monotonic() + timeout
    while r.xlen(KEY) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.xlen(KEY) >= n


def strip_id(text):
    """(stream id, the vendor's bytes) of an event the gateway sent."""
    head, sep, tail = text.rpartition(',"stream_id":"')
    assert sep and tail.endswith('"}'), text
    return tail[:-2], (head + "}").encode()


async def open_since(gw, since):
    ws = await connect(gw.url("/v2/iex"))
    assert await recv(ws) == CONNECTED
    assert await auth(ws, "demo", "demo") == AUTHENTICATED
    await ws.send(json.dumps({"action": "subscribe", "quotes": ["AAPL"],
                              "since": {"quotes.AAPL": since}}))
    conf = json.loads(await recv_ctl(ws))[0]
    assert conf["T"] == "subscription" and conf["quotes"] == ["AAPL"], conf
    return ws


async def read_for(ws, got, seconds=None, quiet=None):
    """Appends (id, bytes) of each event until `seconds` passed, or until
    nothing came for `quiet` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + (seconds or 60)
    while loop.time() < end:
        try:
            text = await recv(ws, quiet or max(0.01, end - loop.time()))
        except asyncio.TimeoutError:
            if quiet:
                return
            continue
        got += [strip_id(e) for e in split_array(text)]


def test_since_replays_history_then_live_without_seam(tickerd, redis, tmp_path):
    sim, gw, rec = start(tickerd, redis, tmp_path, count=5000, rate=500, redis_history=100000)
    r = redis.client()
    wait_xlen(r, 60)
    before = r.xrange(KEY, count=30)
    since = before[19][0].decode()  # resume after the 20th entry
    got = []

    async def scenario():
        ws = await open_since(gw, since)
        await read_for(ws, got, seconds=1)
        assert got, "nothing replayed"
        await sim_done(sim, 5000)
        await read_for(ws, got, quiet=1.5)
        await ws.close()

    run(scenario(), timeout=60)
    hist = [(i.decode(), f[b"e"]) for i, f in r.xrange(KEY)]
    assert got == hist[20:], f"{len(got)} received, {len(hist) - 20} after the id"
    assert [e for _, e in hist] == sim_quotes(rec)  # the history is what the sim sent
    assert len(got) > 100
    assert gw.count_log(r"since refused") == 0


def test_a_client_away_for_5_s_resumes_from_its_last_id_and_loses_nothing(tickerd, redis,
                                                                         tmp_path):
    sim, gw, rec = start(tickerd, redis, tmp_path, count=8000, rate=800, redis_history=100000)
    got = []

    async def scenario():
        ws = await open_since(gw, "0")  # the whole history, then live
        await read_for(ws, got, seconds=1.5)
        await ws.close()
        assert got
        await asyncio.sleep(5)  # away: events keep coming
        ws = await open_since(gw, got[-1][0])
        await sim_done(sim, 8000)
        await read_for(ws, got, quiet=1.5)
        await ws.close()

    run(scenario(), timeout=60)
    assert [e for _, e in got] == sim_quotes(rec)
    ids = [i for i, _ in got]
    assert len(set(ids)) == len(ids)


def test_since_without_history_is_refused_in_the_dialect(tickerd, redis, tmp_path):
    sim, gw, rec = start(tickerd, redis, tmp_path, count=2000, rate=500)

    async def scenario():
        ws = await connect(gw.url("/v2/iex"))
        await recv(ws)
        await auth(ws, "demo", "demo")
        await ws.send(json.dumps({"action": "subscribe", "quotes": ["AAPL"],
                                  "since": {"quotes.AAPL": "0"}}))
        ctl = [json.loads(await recv_ctl(ws))[0] for _ in range(2)]
        assert {"T": "subscription"}.items() <= ctl[0].items(), ctl
        assert ctl[1]["T"] == "error" and ctl[1]["code"] == 400, ctl
        assert "--redis-history" in ctl[1]["msg"], ctl
        # the subscription itself stands: live events, without stream ids
        text = await recv(ws, 5)
        assert '"stream_id"' not in text and '"S":"AAPL"' in text
        # a malformed since is a 400 like any bad message
        await ws.send(json.dumps({"action": "subscribe", "since": {"quotesAAPL": "1-0"}}))
        assert json.loads(await recv_ctl(ws))[0]["code"] == 400
        await ws.close()

    run(scenario(), timeout=30)


def test_libtickerd_resume_from_reports_ids_and_resumes_where_it_stopped(tickerd, tickerd_bin,
                                                                          redis, tmp_path):
    """print_quotes --since (tickerd_client_resume_from): 40 quotes of AAPL
    from the start of history, stop, wait, run again from the last id: the
    ids of both runs are exactly the history's, in order."""
    sim, gw, rec = start(tickerd, redis, tmp_path, count=6000, rate=600, redis_history=100000)
    r = redis.client()
    wait_xlen(r, 20)
    env = {"APCA_API_KEY_ID": "demo", "APCA_API_SECRET_KEY": "demo"}
    url = f"ws://127.0.0.1:{gw.port}"

    def ids(lines):
        out = [line.rsplit(" id=", 1)[1] for line in lines if line.startswith("quotes AAPL ")]
        assert len(out) == len([line for line in lines if line.startswith("quotes ")]), lines
        return out

    first = ids(run_example(tickerd_bin, tmp_path, "print_quotes", "--events", "40", "--since",
                            "0", url, "AAPL", env=env))
    time.sleep(2)  # stopped: events keep coming
    second = ids(run_example(tickerd_bin, tmp_path, "print_quotes", "--events", "40", "--since",
                             first[-1], url, "AAPL", env=env))
    hist = [i.decode() for i, _ in r.xrange(KEY)]
    assert first + second == hist[:80]


def test_polygon_dialect_since(tickerd, redis, tmp_path):
    """The Polygon dialect's "since": {"Q.AAPL": id} with params "Q.AAPL";
    events are Polygon objects with "stream_id" added, exactly the history
    after the id."""
    sim = tickerd.sim(rate=400, count=3000, symbols=4)
    gw = tickerd.run(feed="polygon", listen=True, url=[sim.url("/stocks")],
                     env={"POLYGON_API_KEY": "PKVENDOR"}, client=["PKPOLY:x"], redis=redis.url,
                     redis_history=100000, subscribe="quotes=*")
    r = redis.client()
    wait_xlen(r, 30)
    since = r.xrange(KEY, count=10)[9][0].decode()
    got = []

    async def scenario():
        ws = await authed(gw)
        await ws.send(json.dumps({"action": "subscribe", "params": "Q.AAPL",
                                  "since": {"Q.AAPL": since}}))
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(None, wait_sim_done, sim, 3000)
        quiet_since = None
        while not (done.done() and quiet_since and loop.time() - quiet_since > 1.5):
            try:
                text = await recv(ws, 0.5)
            except asyncio.TimeoutError:
                quiet_since = quiet_since or loop.time()
                continue
            quiet_since = None
            got.extend(strip_id(e) for e in split_array(text) if '"ev":"Q"' in e)
        await done
        # a since naming a topic of another cluster's prefix is refused
        await ws.send(json.dumps({"action": "subscribe", "params": "Q.MSFT",
                                  "since": {"XQ.MSFT": "0"}}))
        while '"status":"error"' not in (text := await recv(ws, 5)):
            pass
        assert "invalid since" in text
        await ws.close()

    run(scenario(), timeout=60)
    hist = [(i.decode(), f[b"e"]) for i, f in r.xrange(KEY)]
    assert len(hist) > 50 and got == hist[10:], f"{len(got)} received, {len(hist) - 10} after"


def test_libtickerd_resumes_by_itself_across_a_gateway_restart(tickerd, tickerd_bin, redis,
                                                               tmp_path):
    """A publisher keeps history; a --source gateway serves "since". The
    gateway is killed and started again on its port while print_quotes
    runs: the library reconnects with the last id it delivered, and the ids
    it printed are exactly the history's first 120, once each."""
    sim = tickerd.sim(rate=300, count=20000, symbols=4)
    tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url, redis_history=100000,
                subscribe="quotes=*")
    port = free_port()

    def gateway():
        return tickerd.run(source=redis.url, redis_history=1, listen=f"127.0.0.1:{port}",
                           client=["demo:demo"], name="gw")

    gw = gateway()
    env = {"APCA_API_KEY_ID": "demo", "APCA_API_SECRET_KEY": "demo"}
    p = harness.Proc([example(tickerd_bin, "print_quotes"), "--events", "120", "--since", "0",
                      f"ws://127.0.0.1:{port}", "AAPL"], tmp_path, "print_quotes", env=env)
    p.start()
    try:
        assert wait_until(lambda: b" id=" in p.stdout(), 20)
        gw.popen.kill()
        gw.popen.wait(5)
        time.sleep(1)  # down: the client retries, events keep coming
        gw = gateway()
        p.popen.wait(60)
    finally:
        if p.popen.poll() is None:
            p.kill()
    assert p.returncode == 0 and not p.sanitizer_reports(), p.describe()
    lines = [line.decode() for line in p.stdout_lines()]
    ids = [line.rsplit(" id=", 1)[1] for line in lines if line.startswith("quotes AAPL ")]
    assert any("disconnected" in line for line in lines), "the gateway restart went unseen"
    hist = [i.decode() for i, _ in redis.client().xrange(KEY, count=120)]
    assert ids == hist


def test_since_an_id_already_trimmed_says_so(tickerd, redis, tmp_path):
    """--redis-history 50: an id older than what the stream still holds
    gets a gap notice (feed "history", refill impossible) naming the window
    that was trimmed, then what is kept."""
    sim, gw, rec = start(tickerd, redis, tmp_path, count=20000, rate=2000, redis_history=50)
    r = redis.client()
    wait_xlen(r, 5)
    old = r.xrange(KEY, count=1)[0][0].decode()
    deadline = time.monotonic() + 20
    while r.xrange(KEY, count=1)[0][0].decode() == old and time.monotonic() < deadline:
        time.sleep(0.05)  # until the trimming removed it
    assert r.xrange(KEY, count=1)[0][0].decode() != old

    async def scenario():
        ws = await connect(gw.url("/v2/iex"))
        await recv(ws)
        await auth(ws, "demo", "demo")
        await ws.send(json.dumps({"action": "subscribe", "quotes": ["AAPL"],
                                  "since": {"quotes.AAPL": old}}))
        loop = asyncio.get_running_loop()
        end = loop.time() + 5
        while loop.time() < end:
            for e in split_array(await recv(ws, 5)):
                o = json.loads(e)
                if o.get("T") == "gap":
                    return o
        raise AssertionError("no gap notice")

    gap = run(scenario(), timeout=30)
    assert gap["feed"] == "history" and gap["refill"] == "impossible", gap
    assert gap["kinds"] == ["quotes"] and gap["symbols"] == ["AAPL"], gap
    assert gap["from"] < gap["to"], gap
