# SPDX-License-Identifier: Apache-2.0
"""Last values in Redis (--redis-last-values, on by default): the sink keeps
each (kind, symbol)'s newest event in the hash last:<kind> in the same
pipeline as its PUBLISH; a fresh --source gateway serves it as the snapshot
to a client that subscribes by name."""
import json

from harness import read_record
from simclient import AUTHENTICATED, CONNECTED, auth, connect, recv, run, split_array, subscribe
from test_run_redis import wait_sim_done

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}


def publish_run(tickerd, redis, redis_collector, tmp_path, **opts):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6)
    coll = redis_collector(redis, channels=("quotes.AAPL",))
    tickerd.run(url=[sim.url("/v2/iex")], env=KEYS, redis=redis.url,
                subscribe="trades=*;quotes=*", **opts)
    wait_sim_done(sim, 3000)
    quotes = [ev for ev in read_record(rec) if json.loads(ev).get("T") == "q"
              and json.loads(ev)["S"] == "AAPL"]
    assert len(quotes) > 20
    got = coll.wait_count(len(quotes), timeout=30)
    return quotes, [data for _, data in got]


def test_hash_holds_the_last_message_and_a_source_gateway_serves_it(tickerd, redis,
                                                                     redis_collector, tmp_path):
    quotes, received = publish_run(tickerd, redis, redis_collector, tmp_path)
    assert received == quotes
    assert redis.client().hget("last:quotes", "AAPL") == received[-1]

    fed = tickerd.run(listen=True, source=redis.url, client=["demo:demo"], name="fed")
    fed.wait_for_log(r"redis source \(last values\) \S+: connected")

    async def scenario():
        ws = await connect(fed.url("/v2/iex"))
        assert await recv(ws) == CONNECTED
        assert await auth(ws, "demo", "demo") == AUTHENTICATED
        conf = json.loads(await subscribe(ws, quotes=["AAPL"]))[0]
        assert conf["T"] == "subscription"
        first = split_array(await recv(ws, 5))
        await ws.close()
        return first

    assert run(scenario(), timeout=30) == [received[-1].decode()]


def test_no_hash_without_last_values(tickerd, redis, redis_collector, tmp_path):
    publish_run(tickerd, redis, redis_collector, tmp_path, redis_last_values=False)
    assert redis.client().exists("last:quotes") == 0
