# SPDX-License-Identifier: Apache-2.0
"""Publishers without a gateway: /metrics and /healthz on --metrics-listen,
and the warning when a sink (Redis, stdout) would publish nothing because
nothing is subscribed."""

import json
import socket
import time
import urllib.error
import urllib.request

import harness

ENV = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
IDLE = r"nothing is subscribed upstream but what gateway clients ask for"


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def upgrade_status(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        return s.recv(4096).split(b"\r\n", 1)[0].decode()


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def test_metrics_listen_without_gateway(tickerd, redis, free_port):
    sim = tickerd.sim(rate=500)
    port = free_port()
    pub = tickerd.run(url=sim.url("/v2/iex"), redis=redis.url, metrics_listen=f"127.0.0.1:{port}",
                      env=ENV)
    harness.wait_port(port, proc=pub)
    pub.wait_for_log(r"metrics: listening on http://127\.0\.0\.1:%d" % port)
    pub.wait_for_log(r"subscribed, streaming")
    deadline = time.monotonic() + 15
    while True:
        status, text = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        if metric_value(text, "tickerd_redis_published_total") > 0:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    assert 'tickerd_upstream_streaming{url="%s"} 1' % sim.url("/v2/iex") in text
    assert "tickerd_redis_up 1" in text
    assert "tickerd_clients " not in text  # no gateway, no client metrics
    status, body = http_get(f"http://127.0.0.1:{port}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok", body
    # Only the two handlers: no page, no WebSocket paths.
    assert http_get(f"http://127.0.0.1:{port}/")[0] == 404
    assert " 404 " in upgrade_status(port, "/v2/iex") + " "
    assert pub.count_log(IDLE) == 0  # the default subscription feeds the sink


def test_metrics_listen_healthz_degraded(tickerd, free_port):
    port = free_port()
    dead = free_port()  # nothing listens there
    pub = tickerd.run(url=f"ws://127.0.0.1:{dead}/v2/iex", stdout=True,
                      metrics_listen=f"127.0.0.1:{port}", env=ENV)
    harness.wait_port(port, proc=pub)
    status, body = http_get(f"http://127.0.0.1:{port}/healthz")
    assert status == 503 and json.loads(body)["status"] == "degraded", body


def test_metrics_listen_next_to_the_gateway(tickerd, free_port):
    sim = tickerd.sim()
    port = free_port()
    gw = tickerd.run(url=sim.url("/v2/iex"), listen=True, client="c:d",
                     metrics_listen=f"127.0.0.1:{port}", env=ENV)
    harness.wait_port(port, proc=gw)
    status, text = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "tickerd_clients 0" in text, text
    gw_text = http_get(f"http://127.0.0.1:{gw.port}/metrics")[1]
    assert gw_text.count("\ntickerd_clients ") == 1 and text.count("\ntickerd_clients ") == 1


def test_warns_when_a_sink_gets_nothing_subscribed(tickerd, redis):
    sim = tickerd.sim(max_conns=3)
    # A Redis publisher that relied on the default subscription, plus --listen:
    # the default becomes "what clients ask for", so Redis gets nothing.
    pub = tickerd.run(url=sim.url("/v2/iex"), redis=redis.url, listen=True, client="c:d",
                      env=ENV)
    pub.wait_for_log(IDLE + r" \(the default with --listen\): --redis and --stdout publish only")
    # An explicit empty --subscribe with --stdout, no gateway: the same warning.
    out = tickerd.run(url=sim.url("/v2/iex"), stdout=True, subscribe="", env=ENV, name="stdout")
    out.wait_for_log(IDLE + r": --redis")
    # With --subscribe, nothing to warn about.
    ok = tickerd.run(url=sim.url("/v2/iex"), redis=redis.url, listen=True, client="c:d",
                     subscribe="quotes=AAPL", env=ENV, name="pinned")
    ok.wait_for_log(r"subscribed, streaming")
    assert ok.count_log(IDLE) == 0
