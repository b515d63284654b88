# SPDX-License-Identifier: Apache-2.0
"""`tickerd run --listen` with tokens (JWT) and the limits checked at the
upgrade: valid tokens stream in both dialects and through ?token=;
expired, badly signed, alg:none, HS/RS-confused and malformed tokens are
refused with the dialect's auth error; a restricted token cannot subscribe
outside its claim (wildcards included); a token that expires closes its
live connection; --max-clients-per-ip, --conn-rate-per-ip and
--allow-origin refuse at the upgrade (429/403) and are counted."""

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import time

import websockets

from simclient import (AUTHENTICATED, CONNECTED, auth, connect, error_frame, expect_closed, recv,
                       recv_ctl, run, split_array, subscribe)
from test_gateway import DEMO, authed, confirmation, http_get, metric
from test_gateway import start as start_alpaca
from test_gateway_polygon import AUTH_FAILED, AUTH_OK
from test_gateway_polygon import start as start_polygon

SECRET = "a-test-secret-of-at-least-32-bytes!"
ENV = {"TICKERD_JWT_HS256_SECRET": SECRET}

_spec = importlib.util.spec_from_file_location(
    "jwt_issue", os.path.join(os.path.dirname(__file__), "..", "..", "examples", "jwt_issue.py"))
jwt_issue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jwt_issue)
b64url = jwt_issue.b64url


def token(ttl=60, kinds=None, symbols=None, secret=SECRET, **extra):
    return jwt_issue.make_token(secret, "alice", ttl, kinds, symbols, extra=extra)


def raw_token(header, claims, sig=b"x"):
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")).encode())
    return f"{enc(header)}.{enc(claims)}.{b64url(sig)}"


def alpaca(tickerd, **opts):
    from test_gateway import KEYS
    return start_alpaca(tickerd, env={**KEYS, **ENV}, **opts)


async def refused_alpaca(gw, tok):
    ws = await connect(gw.url("/v2/iex"))
    assert await recv(ws) == CONNECTED
    assert await auth(ws, "jwt", tok) == error_frame(402)
    await expect_closed(ws)


async def quotes_of(ws, n=3, timeout=10.0):
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < n:
        text = await recv(ws, max(0.01, deadline - loop.time()))
        got += [e for e in split_array(text) if e.startswith('{"T":"q"')]
    return got


# ------------------------------------------------------------ Alpaca ----

def test_alpaca_token_streams_by_message_header_and_url(tickerd):
    sim, gw = alpaca(tickerd)

    async def go():
        ws = await authed(gw, key=("jwt", token()))
        assert await subscribe(ws, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        assert all('"S":"AAPL"' in q for q in await quotes_of(ws))
        await ws.close()
        ws = await connect(gw.url("/v2/iex"),
                           {"APCA-API-KEY-ID": "jwt", "APCA-API-SECRET-KEY": token()})
        assert await recv(ws) == CONNECTED
        assert await recv(ws) == AUTHENTICATED
        await ws.close()
        ws = await connect(gw.url("/v2/iex") + "?token=" + token())
        assert await recv(ws) == CONNECTED
        assert await recv(ws) == AUTHENTICATED
        assert await subscribe(ws, quotes=["MSFT"]) == confirmation(quotes=["MSFT"])
        assert len(await quotes_of(ws)) == 3
        await ws.close()
        ws = await authed(gw, key=DEMO)  # static keys still work
        await ws.close()
    run(go())
    assert gw.wait_for_log(r"authenticated by url: token of 'alice'")
    assert metric(gw, "client_token_auths_total") == 3


def test_alpaca_bad_tokens_refused_with_402(tickerd):
    sim, gw = alpaca(tickerd)
    now = int(time.time())

    async def go():
        await refused_alpaca(gw, token(ttl=-5))  # expired
        await refused_alpaca(gw, token(secret="another-secret-of-at-least-32-bytes"))
        await refused_alpaca(gw, raw_token({"alg": "none"}, {"sub": "x", "exp": now + 60}, b""))
        none_sig = token().rsplit(".", 1)[0] + "."
        await refused_alpaca(gw, none_sig.replace(none_sig.split(".")[0],
                                                  b64url(b'{"alg":"none"}')))
        await refused_alpaca(gw, token() + "=")  # not strict base64url
    run(go(), timeout=60)
    for why in ("expired", "bad signature", "algorithm not accepted", "malformed token"):
        assert gw.count_log(rf"token refused \(message\): {why}") >= 1, why


def test_restricted_token_cannot_subscribe_outside_its_claim(tickerd):
    sim, gw = alpaca(tickerd)

    async def go():
        ws = await authed(gw, key=("jwt", token(kinds=["quotes"], symbols=["AAPL", "MSFT"])))
        assert await subscribe(ws, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        # another kind, another symbol, the wildcard: 409, the allowed rest applies
        await ws.send(json.dumps({"action": "subscribe", "trades": ["AAPL"],
                                  "quotes": ["MSFT", "TSLA", "*"]}))
        assert await recv_ctl(ws) == error_frame(409)
        assert await recv_ctl(ws) == confirmation(quotes=["AAPL", "MSFT"])
        await ws.send(json.dumps({"action": "subscribe", "bars": ["*"]}))
        assert await recv_ctl(ws) == error_frame(409)
        assert await recv_ctl(ws) == confirmation(quotes=["AAPL", "MSFT"])
        got = await quotes_of(ws, 20)
        assert {json.loads(q)["S"] for q in got} <= {"AAPL", "MSFT"}
    run(go())
    assert metric(gw, "client_claim_refusals_total") == 4


def test_live_connection_closed_when_its_token_expires(tickerd):
    sim, gw = alpaca(tickerd)

    async def go():
        ws = await authed(gw, key=("jwt", token(ttl=2)))
        assert await subscribe(ws, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        t0 = time.monotonic()
        got = await expect_closed(ws, timeout=8)
        assert error_frame(402) in got
        assert time.monotonic() - t0 < 4
    run(go())
    assert gw.wait_for_log(r"'alice'\): token expired")
    assert metric(gw, "client_token_expired_total") == 1


# ------------------------------------------------------- key types ----

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def rs256_token(dir, claims):
    head = b64url(b'{"alg":"RS256","typ":"JWT"}')
    body = b64url(json.dumps(claims).encode())
    with open(os.path.join(dir, "in"), "w") as f:
        f.write(f"{head}.{body}")
    openssl("dgst", "-sha256", "-sign", "rsa.pem", "-out", "sig", "in", cwd=dir)
    with open(os.path.join(dir, "sig"), "rb") as f:
        return f"{head}.{body}.{b64url(f.read())}"


def test_rs256_token_and_hs_rs_confusion(tickerd, tmp_path):
    d = str(tmp_path)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem",
            cwd=d)
    openssl("pkey", "-in", "rsa.pem", "-pubout", "-out", "pub.pem", cwd=d)
    from test_gateway import KEYS
    sim, gw = start_alpaca(tickerd, jwt_public_key=os.path.join(d, "pub.pem"))
    with open(os.path.join(d, "pub.pem")) as f:
        pub = f.read()
    exp = int(time.time()) + 60

    async def go():
        ws = await authed(gw, key=("jwt", rs256_token(d, {"sub": "rs", "exp": exp})))
        await ws.close()
        # HS256 signed with the public key's text: the key fixes the algorithm
        await refused_alpaca(gw, jwt_issue.make_token(pub, "mallory", 60))
        await refused_alpaca(gw, rs256_token(d, {"sub": "rs", "exp": exp - 120}))
    run(go())
    assert gw.count_log(r"token refused \(message\): algorithm not accepted") == 1
    assert gw.count_log(r"token refused \(message\): expired") == 1


def der_to_raw(der):
    """An ECDSA signature (DER SEQUENCE of INTEGER r, s) as JWS wants it: r || s, 32 bytes each."""
    assert der[0] == 0x30
    i, out = 2 if der[1] < 0x80 else 3, b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def signed_token(dir, alg, key, claims, raw=True):
    """A token with header alg signed by openssl with the PEM private key `key` (SHA-256)."""
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    with open(os.path.join(dir, "in"), "w") as f:
        f.write(f"{head}.{body}")
    openssl("dgst", "-sha256", "-sign", key, "-out", "sig", "in", cwd=dir)
    with open(os.path.join(dir, "sig"), "rb") as f:
        sig = f.read()
    return f"{head}.{body}.{b64url(der_to_raw(sig) if raw and alg == 'ES256' else sig)}"


def test_es256_token_and_algorithm_confusion(tickerd, tmp_path):
    d = str(tmp_path)
    for name in ("ec", "other"):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                f"{name}.pem", cwd=d)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem",
            cwd=d)
    openssl("pkey", "-in", "ec.pem", "-pubout", "-out", "pub.pem", cwd=d)
    sim, gw = start_alpaca(tickerd, jwt_public_key=os.path.join(d, "pub.pem"))
    assert gw.wait_for_log(r"tokens accepted \(ES256\)")
    with open(os.path.join(d, "pub.pem")) as f:
        pub = f.read()
    exp = int(time.time()) + 60
    good = {"sub": "es", "exp": exp, "tickerd": {"kinds": ["quotes"], "symbols": ["AAPL"]}}

    async def go():
        ws = await authed(gw, key=("jwt", signed_token(d, "ES256", "ec.pem", good)))
        assert await subscribe(ws, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        await ws.send(json.dumps({"action": "subscribe", "quotes": ["*"]}))
        assert await recv_ctl(ws) == error_frame(409)  # the claim holds with ES256 too
        assert all('"S":"AAPL"' in q for q in await quotes_of(ws))
        await ws.close()
        # HS256 keyed with the public key's text, RS256, and none: the key fixes ES256
        await refused_alpaca(gw, jwt_issue.make_token(pub, "mallory", 60))
        await refused_alpaca(gw, signed_token(d, "RS256", "rsa.pem", good))
        await refused_alpaca(gw, raw_token({"alg": "none"}, good, b""))
        # another P-256 key; the DER signature openssl writes instead of r || s; expired
        await refused_alpaca(gw, signed_token(d, "ES256", "other.pem", good))
        await refused_alpaca(gw, signed_token(d, "ES256", "ec.pem", good, raw=False))
        await refused_alpaca(gw, signed_token(d, "ES256", "ec.pem", {**good, "exp": exp - 120}))
    run(go())
    assert gw.count_log(r"token refused \(message\): algorithm not accepted") == 3
    assert gw.count_log(r"token refused \(message\): (bad signature|malformed token)") == 2
    assert gw.count_log(r"token refused \(message\): expired") == 1


def test_hs256_secret_refuses_rs256_and_es256_tokens(tickerd, tmp_path):
    d = str(tmp_path)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem",
            cwd=d)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem",
            cwd=d)
    sim, gw = alpaca(tickerd)
    claims = {"sub": "x", "exp": int(time.time()) + 60}

    async def go():
        await refused_alpaca(gw, signed_token(d, "ES256", "ec.pem", claims))
        await refused_alpaca(gw, signed_token(d, "RS256", "rsa.pem", claims))
    run(go())
    assert gw.count_log(r"token refused \(message\): algorithm not accepted") == 2


# ------------------------------------------------------------ Polygon ----

def test_polygon_token_and_restricted_topics(tickerd):
    sim, gw = start_polygon(tickerd, env={"POLYGON_API_KEY": "PKVENDOR", **ENV})

    async def go():
        ws = await connect(gw.url("/stocks"))
        await recv(ws)
        await ws.send(json.dumps({"action": "auth", "params": token(kinds=["trades"],
                                                                      symbols=["AAPL"])}))
        assert await recv(ws) == AUTH_OK
        await ws.send('{"action":"subscribe","params":"T.AAPL,T.MSFT,Q.AAPL,T.*"}')
        msgs = [json.loads(await recv(ws))[0]["message"] for _ in range(4)]
        assert msgs == ["insufficient subscription: T.MSFT", "insufficient subscription: Q.AAPL",
                        "insufficient subscription: T.*", "subscribed to: T.AAPL"], msgs
        await ws.close()
        ws = await connect(gw.url("/stocks") + "?token=" + token())
        await recv(ws)
        assert await recv(ws) == AUTH_OK
        await ws.close()
        now = int(time.time())
        for bad in (token(ttl=-1), token(secret="another-secret-of-at-least-32-bytes"),
                    raw_token({"alg": "none"}, {"sub": "x", "exp": now + 60}, b"")):
            ws = await connect(gw.url("/stocks"))
            await recv(ws)
            await ws.send(json.dumps({"action": "auth", "params": bad}))
            assert await recv(ws) == AUTH_FAILED
            await expect_closed(ws)
    run(go())
    for why in ("expired", "bad signature", "algorithm not accepted"):
        assert gw.count_log(rf"token refused \(message\): {why}") >= 1, why


# ------------------------------------------------------------ limits ----

async def try_open(url, headers=None):
    try:
        ws = await connect(url, headers)
        return ws
    except websockets.InvalidStatusCode as e:
        return e.status_code


def test_max_clients_per_ip_refuses_at_the_upgrade(tickerd):
    sim, gw = alpaca(tickerd, max_clients_per_ip=50, max_clients=0)

    async def go():
        first = await authed(gw)
        assert await subscribe(first, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        results = []
        for i in range(0, 499, 50):
            results += await asyncio.gather(*[try_open(gw.url("/v2/iex"))
                                              for _ in range(min(50, 499 - i))])
        opened = [r for r in results if not isinstance(r, int)]
        refused = [r for r in results if isinstance(r, int)]
        assert len(opened) == 49 and refused == [429] * 450, (len(opened), set(refused))
        assert len(await quotes_of(first)) == 3  # the 50 keep streaming
        ws = opened[0]
        assert await recv(ws) == CONNECTED
        assert await auth(ws, *DEMO) == AUTHENTICATED
        assert await subscribe(ws, quotes=["MSFT"]) == confirmation(quotes=["MSFT"])
        assert len(await quotes_of(ws)) == 3
        # another address (127.0.0.2 is loopback too) is not limited by this one's count
        other = await websockets.connect(gw.url("/v2/iex"), local_addr=("127.0.0.2", 0),
                                         max_size=None, ping_interval=None, open_timeout=5)
        assert await recv(other) == CONNECTED
        assert await auth(other, *DEMO) == AUTHENTICATED
        assert await subscribe(other, quotes=["TSLA"]) == confirmation(quotes=["TSLA"])
        assert len(await quotes_of(other)) == 3
        assert len(await quotes_of(first)) == 3
        for w in opened[1:] + [other]:
            await w.close()
        assert await try_open(gw.url("/v2/iex")) != 429  # room again
    run(go(), timeout=120)
    _, _, body = http_get(gw, "/metrics")
    assert re.search(rb'^tickerd_upgrade_refusals_total\{reason="per_ip"\} 450$', body, re.M)


def test_connection_rate_per_ip(tickerd):
    sim, gw = alpaca(tickerd, conn_rate_per_ip=1, conn_burst_per_ip=3)

    async def go():
        got = [await try_open(gw.url("/v2/iex")) for _ in range(5)]
        assert [isinstance(r, int) for r in got] == [False] * 3 + [True] * 2, got
        assert got[3:] == [429, 429]
    run(go())
    _, _, body = http_get(gw, "/metrics")
    assert re.search(rb'^tickerd_upgrade_refusals_total\{reason="rate"\} 2$', body, re.M)


def test_bad_origin_refused(tickerd):
    sim, gw = alpaca(tickerd, allow_origin=["http://board.example"])

    async def go():
        assert await try_open(gw.url("/v2/iex"), {"Origin": "http://evil.example"}) == 403
        ws = await try_open(gw.url("/v2/iex"), {"Origin": "http://board.example"})
        assert await recv(ws) == CONNECTED
        ws2 = await try_open(gw.url("/v2/iex"))  # no Origin: not a browser
        assert await recv(ws2) == CONNECTED
    run(go())
    _, _, body = http_get(gw, "/metrics")
    assert re.search(rb'^tickerd_upgrade_refusals_total\{reason="origin"\} 1$', body, re.M)
