# SPDX-License-Identifier: Apache-2.0
"""The client session's decisions end to end, against a scripted vendor on
127.0.0.1 (the raw RFC 6455 server of test_feed_ws): 407 slow client and 500
internal error close the connection and reconnect with the usual backoff,
the whole subscription sent again; 400 is a warning and the stream goes on;
Polygon's auth_timeout reconnects too."""
import json
import time

from test_feed_ws import GREETING, KEYS, Server, frame, upgrade

AUTHED = b'[{"T":"success","msg":"authenticated"}]'
P_GREETING = b'[{"ev":"status","status":"connected","message":"Connected Successfully"}]'


def text_frame(conn):
    """The next text message from tickerd, or None if it closed instead (a
    connection the test no longer waits for, cut when tickerd stops)."""
    op, data, _ = conn.client_frame()
    return json.loads(data) if op == 1 else None


def alpaca_up(conn, seen):
    """Greeting, auth, subscription: the connection is streaming."""
    upgrade(conn)
    conn.sock.sendall(frame(1, GREETING))
    auth = text_frame(conn)
    if auth is None:
        return
    seen.append(auth)
    conn.sock.sendall(frame(1, AUTHED))
    sub = text_frame(conn)
    if sub is None:
        return
    seen.append(sub)
    conn.sock.sendall(frame(1, json.dumps([{"T": "subscription", **{k: v for k, v in sub.items()
                                                                     if k != "action"}}]).encode()))


def error(code, msg):
    return frame(1, json.dumps([{"T": "error", "code": code, "msg": msg}]).encode())


def start(tickerd, srv, url=None, env=KEYS, feed=None):
    opts = {"feed": feed} if feed else {}
    return tickerd.run(url=[url or srv.url()], env=env, stdout=True,
                       subscribe="trades=AAPL;quotes=*", backoff_min=0.05, backoff_max=0.2,
                       stats_interval=0, **opts)


def test_slow_client_and_internal_error_reconnect(tickerd):
    def script(conn, n, seen):
        alpaca_up(conn, seen)
        time.sleep(0.3)
        conn.sock.sendall(error(407, "slow client") if n == 0 else error(500, "internal error"))
        time.sleep(3)

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"upstream \S+: closed by tickerd: vendor error 407: slow client; "
                         r"reconnecting in", timeout=15)
        run.wait_for_log(r"upstream \S+: closed by tickerd: vendor error 500: internal error; "
                         r"reconnecting in", timeout=15)
        assert run.count_log(r"subscribed, streaming") >= 2
        subs = [m for m in srv.seen if m.get("action") == "subscribe"]
        assert len(subs) >= 2 and all(s == subs[0] for s in subs), "resubscribed the same set"
        assert subs[0]["trades"] == ["AAPL"] and subs[0]["quotes"] == ["*"]
        assert run.poll() is None
    finally:
        srv.close()


def test_invalid_syntax_is_a_warning(tickerd):
    def script(conn, n, seen):
        alpaca_up(conn, seen)
        time.sleep(0.3)
        conn.sock.sendall(error(400, "invalid syntax"))
        trade = {"T": "t", "S": "AAPL", "i": 1, "x": "V", "p": 187.5, "s": 100,
                 "t": "2026-12-06T02:00:00.000000001Z", "c": ["@"], "z": "C"}
        conn.sock.sendall(frame(1, json.dumps([trade]).encode()))
        time.sleep(3)

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"upstream \S+: vendor error 400: invalid syntax", timeout=15)
        deadline = time.time() + 5
        while not run.stdout_lines() and time.time() < deadline:
            time.sleep(0.05)
        assert json.loads(run.stdout_lines()[0])["channel"] == "trades.AAPL"
        assert srv.conns == 1 and not run.count_log(r"reconnecting in")
    finally:
        srv.close()


def test_polygon_auth_timeout_reconnects(tickerd):
    def script(conn, n, seen):
        upgrade(conn)
        conn.sock.sendall(frame(1, P_GREETING))
        auth = text_frame(conn)
        if auth is None:
            return
        seen.append(auth)
        if n == 0:
            conn.sock.sendall(frame(1, b'[{"ev":"status","status":"auth_timeout",'
                                       b'"message":"No authentication request received."}]'))
            time.sleep(3)
            return
        conn.sock.sendall(frame(1, b'[{"ev":"status","status":"auth_success",'
                                   b'"message":"authenticated"}]'))
        sub = text_frame(conn)
        if sub is None:
            return
        seen.append(sub)
        conn.sock.sendall(frame(1, b'[{"ev":"status","status":"success",'
                                   b'"message":"subscribed to: T.AAPL,Q.*"}]'))
        time.sleep(3)

    srv = Server(script)
    try:
        run = start(tickerd, srv, url=f"ws://127.0.0.1:{srv.port}/stocks",
                    env={"POLYGON_API_KEY": "PKPOLY"}, feed="polygon")
        run.wait_for_log(r"upstream \S+: closed by tickerd: auth_timeout: No authentication "
                         r"request received\.; reconnecting in", timeout=15)
        run.wait_for_log(r"upstream \S+/stocks: subscribed, streaming \(T\.AAPL,Q\.\*\)",
                         timeout=15)
        assert srv.seen[0] == {"action": "auth", "params": "PKPOLY"}
        assert srv.seen[1] == srv.seen[0]
        assert srv.seen[2] == {"action": "subscribe", "params": "T.AAPL,Q.*"}
        assert run.poll() is None
    finally:
        srv.close()
