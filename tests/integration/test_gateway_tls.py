# SPDX-License-Identifier: Apache-2.0
"""The gateway's TLS listener (--listen-tls with a throwaway CA made by the
openssl CLI; python-websockets with an ssl context trusting exactly that CA)
and SIGHUP: a rotated certificate is used by new handshakes while connected
TLS clients keep streaming, a key removed from the -c file closes its
clients with the auth error, and an invalid file or certificate changes
nothing."""

import asyncio
import json
import signal
import ssl

from harness import free_port
from simclient import AUTHENTICATED, CONNECTED, auth, error_frame, expect_closed, recv, run, subscribe
from test_gateway import KEYS, confirmation
from test_gateway_jwt import quotes_of
from test_tls import make_ca, make_server_cert
import websockets


def serial_of(ws):
    der = ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
    from subprocess import run as srun
    out = srun(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
               capture_output=True, check=True).stdout.decode()
    return int(out.strip().split("=")[1], 16)


async def wss(port, ctx, key):
    ws = await websockets.connect(f"wss://127.0.0.1:{port}/v2/iex", ssl=ctx, max_size=None,
                                  ping_interval=None, open_timeout=5, close_timeout=2)
    assert await recv(ws) == CONNECTED
    assert await auth(ws, *key) == AUTHENTICATED
    return ws


def test_wss_streams_and_sighup_reloads_cert_and_keys(tickerd, tmp_path):
    d = tmp_path
    make_ca(d, "ca")
    make_server_cert(d, "ca", "one", "IP:127.0.0.1,DNS:localhost", 11)
    make_server_cert(d, "ca", "two", "IP:127.0.0.1,DNS:localhost", 22)
    make_server_cert(d, "ca", "three", "IP:127.0.0.1,DNS:localhost", 33)
    cert, key = d / "live.pem", d / "live.key"
    cert.write_bytes((d / "one.pem").read_bytes())
    key.write_bytes((d / "one.key").read_bytes())
    conf = d / "tickerd.conf"
    conf.write_text("[clients]\ndemo = demo\nPKTWO = two\n")
    ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
    sim = tickerd.sim(rate=200, symbols=10)
    tls_port = free_port()
    gw = tickerd.start("run", "-c", str(conf), "--listen", f"127.0.0.1:{free_port()}",
                       "--listen-tls", f"127.0.0.1:{tls_port}", "--tls-cert", str(cert),
                       "--tls-key", str(key), "--url", sim.url("/v2/iex"), env=KEYS)
    gw.wait_for_log(r"listening on wss://127\.0\.0\.1")

    async def go():
        keep = await wss(tls_port, ctx, ("demo", "demo"))
        assert serial_of(keep) == 11
        assert await subscribe(keep, quotes=["AAPL"]) == confirmation(quotes=["AAPL"])
        assert len(await quotes_of(keep)) == 3
        gone = await wss(tls_port, ctx, ("PKTWO", "two"))
        # rotate the certificate and remove PKTWO
        cert.write_bytes((d / "two.pem").read_bytes())
        key.write_bytes((d / "two.key").read_bytes())
        conf.write_text("[clients]\ndemo = demo\n")
        gw.signal(signal.SIGHUP)
        assert error_frame(402) in await expect_closed(gone)
        assert len(await quotes_of(keep)) == 3
        fresh = await wss(tls_port, ctx, ("demo", "demo"))
        assert serial_of(fresh) == 22
        await fresh.close()
        # an invalid file and a certificate that does not match its key: nothing changes
        conf.write_text("[clients]\nnot a valid key = x\n")
        cert.write_bytes((d / "three.pem").read_bytes())
        gw.signal(signal.SIGHUP)
        await asyncio.get_running_loop().run_in_executor(
            None, gw.wait_for_log, r"the old certificate is kept")
        assert len(await quotes_of(keep)) == 3
        again = await wss(tls_port, ctx, ("demo", "demo"))
        assert serial_of(again) == 22
        await again.close()
        await keep.close()
    run(go(), timeout=60)
    assert gw.count_log(r"tickerd\.conf:2: bad client key") == 1
    assert gw.count_log(r"was removed: closing") == 1


def test_permessage_deflate_negotiated_per_client(tickerd):
    from test_gateway import start
    # fast enough that frames queue up: lws must drain each compressed one first
    sim, gw = start(tickerd, sim=tickerd.sim(rate=5000, symbols=200), permessage_deflate=True)
    sim2, plain = start(tickerd)

    async def client(g, compression, n=20):
        ws = await websockets.connect(g.url("/v2/iex"), compression=compression, max_size=None,
                                      ping_interval=None, open_timeout=5, close_timeout=2)
        assert await recv(ws) == CONNECTED
        assert await auth(ws, "demo", "demo") == AUTHENTICATED
        assert await subscribe(ws, quotes=["*"]) == confirmation(quotes=["*"])
        assert len(await quotes_of(ws, n, timeout=20)) >= n
        names = [e.name for e in ws.extensions]
        await ws.close()
        return names

    async def go():
        assert await client(gw, "deflate", 5000) == ["permessage-deflate"]
        assert await client(gw, None) == []  # not asked for: not used
        assert await client(plain, "deflate") == []  # not offered without the flag
    run(go())
