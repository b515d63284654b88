# SPDX-License-Identifier: Apache-2.0
"""SIGHUP re-reads the gateway's limits and token secret from the -c file:
--allow-origin, --max-clients-per-ip (turned on: the open connections
count), --client-auth-timeout, --client-subscribe-rate/-burst (connected
clients too) and --jwt-hs256-secret apply at once; a removed client key or
a changed secret closes its clients with 402; an option a reload cannot
apply is named in a warning; an invalid file is refused with file:line and
changes nothing. --jwt-hs256-secret-file is read again too."""

import asyncio
import json
import signal

import websockets

from simclient import (AUTHENTICATED, CONNECTED, auth, connect, error_frame, expect_closed, recv,
                       recv_ctl, run, subscribe)
from test_gateway import KEYS, confirmation
from test_gateway_jwt import jwt_issue, quotes_of

OLD, NEW = "the-first-secret-of-at-least-32-bytes", "the-second-secret-of-at-least-32-byte"

BEFORE = f"""[run]
allow-origin = http://a.example
client-auth-timeout = 30
jwt-hs256-secret = {OLD}
client-subscribe-rate = 1000
client-subscribe-burst = 1000
[clients]
demo = demo
PKTWO = two
PKTHREE = three
"""

AFTER = f"""[run]
allow-origin = http://b.example
max-clients-per-ip = 4
client-auth-timeout = 2
jwt-hs256-secret = {NEW}
client-subscribe-rate = 1
client-subscribe-burst = 2
snapshot-cache = 7
[clients]
demo = demo
PKTHREE = rotated
"""


async def status_of(url, headers=None):
    """The upgrade's outcome: an open socket (greeted), or the HTTP status."""
    try:
        ws = await connect(url, headers)
    except websockets.InvalidStatusCode as e:
        return e.status_code
    assert await recv(ws) == CONNECTED
    return ws


async def token_auth(gw, secret):
    ws = await connect(gw.url("/v2/iex"))
    assert await recv(ws) == CONNECTED
    got = await auth(ws, "jwt", jwt_issue.make_token(secret, "carol", 60))
    await ws.close()
    return got


def test_sighup_reloads_limits_and_secret(tickerd, tmp_path):
    conf = tmp_path / "tickerd.conf"
    conf.write_text(BEFORE)
    sim = tickerd.sim(rate=200, symbols=10)
    gw = tickerd.run(listen=True, config=str(conf), url=[sim.url("/v2/iex")], env=KEYS,
                     stats_interval=0.5)
    url = gw.url("/v2/iex")

    async def wait_log(regex, count=1):
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: gw.wait_for_log(regex, count=count))

    async def authed_ws(headers=None, key=("demo", "demo")):
        ws = await status_of(url, headers)
        assert await auth(ws, *key) == AUTHENTICATED
        return ws

    async def go():
        keep = await authed_ws()
        assert await subscribe(keep, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        two = await authed_ws(key=("PKTWO", "two"))
        three = await authed_ws(key=("PKTHREE", "three"))
        x = await authed_ws()
        assert await status_of(url, {"Origin": "http://b.example"}) == 403
        assert await token_auth(gw, OLD) == AUTHENTICATED
        assert await token_auth(gw, NEW) == error_frame(402)

        conf.write_text(AFTER)
        gw.signal(signal.SIGHUP)
        await wait_log(r"reload: 2 client keys, tokens HS256, limits applied")
        assert error_frame(402) in await expect_closed(two)  # its key was removed
        assert error_frame(402) in await expect_closed(three)  # its secret changed
        await asyncio.sleep(0.3)
        # keep and x were open before the per-address limit: they count
        a = await authed_ws({"Origin": "http://b.example"})
        assert await status_of(url, {"Origin": "http://a.example"}) == 403
        b = await authed_ws()
        assert await status_of(url) == 429
        await b.close()
        await a.close()
        await asyncio.sleep(0.3)
        late = await status_of(url)  # the auth timeout is 2 s now (was 30)
        assert error_frame(404) in await expect_closed(late, timeout=6)
        assert await token_auth(gw, NEW) == AUTHENTICATED
        assert await token_auth(gw, OLD) == error_frame(402)
        # the connected client's subscribe bucket: burst 2 now
        await keep.send(json.dumps({"action": "subscribe", "quotes": ["A", "B", "C"]}))
        text = await recv_ctl(keep)
        assert json.loads(text)[0]["msg"] == "subscribe rate limit exceeded", text
        assert len(await quotes_of(keep)) == 3

        # an invalid file: refused with file:line, everything as it was
        conf.write_text(AFTER.replace("max-clients-per-ip = 4", "max-clients-per-ip = lots"))
        gw.signal(signal.SIGHUP)
        await wait_log(r"the old one is kept")
        assert await status_of(url, {"Origin": "http://a.example"}) == 403
        c = await status_of(url, {"Origin": "http://b.example"})
        assert not isinstance(c, int)
        assert await token_auth(gw, NEW) == AUTHENTICATED
        assert len(await quotes_of(keep)) == 3
        for ws in (c, x, keep):
            await ws.close()
    run(go(), timeout=60)
    assert gw.count_log(r"tickerd\.conf:3: .*max-clients-per-ip") == 1
    assert gw.count_log(r"reload: --snapshot-cache changed: not applied until a restart") == 1
    assert gw.count_log(r"was removed: closing") == 1
    assert gw.count_log(r"its key PKTH\.\.\. was given another secret: closing") == 1


def test_sighup_rereads_the_secret_file(tickerd, tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text(OLD + "\n")
    secret.chmod(0o600)
    sim = tickerd.sim(rate=200, symbols=10)
    gw = tickerd.run(listen=True, url=[sim.url("/v2/iex")], env=KEYS, client=["demo:demo"],
                     jwt_hs256_secret_file=str(secret))

    def reload_and_wait(n):
        gw.signal(signal.SIGHUP)
        gw.wait_for_log(r"SIGHUP: reloading", count=n)
        gw.wait_for_log(r"reload: (1 client keys|invalid configuration)", count=n)

    async def go():
        held = await connect(gw.url("/v2/iex"))
        assert await recv(held) == CONNECTED
        assert await auth(held, "jwt", jwt_issue.make_token(OLD, "held", 60)) == AUTHENTICATED
        assert await subscribe(held, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        assert await token_auth(gw, OLD) == AUTHENTICATED
        secret.write_text(NEW + "\n")
        await asyncio.get_running_loop().run_in_executor(None, reload_and_wait, 1)
        assert await token_auth(gw, NEW) == AUTHENTICATED
        assert await token_auth(gw, OLD) == error_frame(402)
        assert len(await quotes_of(held)) == 3  # authenticated before: keeps streaming
        secret.write_text("\n")  # empty: refused, the secret stays
        await asyncio.get_running_loop().run_in_executor(None, reload_and_wait, 2)
        assert await token_auth(gw, NEW) == AUTHENTICATED
        await held.close()
    run(go(), timeout=60)
    assert gw.count_log(r"jwt\.secret': empty") == 1
    assert gw.count_log(r"the old one is kept") == 1
    assert gw.count_log(OLD) == 0 and gw.count_log(NEW) == 0  # never logged
