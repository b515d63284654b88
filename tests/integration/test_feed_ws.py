# SPDX-License-Identifier: Apache-2.0
"""tickerd run's own upstream WebSocket client against a scripted server on
127.0.0.1 that speaks raw RFC 6455 bytes: a refused upgrade and a wrong
Sec-WebSocket-Accept are connect failures in words; a masked server frame is
a protocol error that closes and reconnects; fragments with a ping between
them are joined (the pong and the auth message arrive masked); a close frame
from the server is named with its code."""
import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time

from harness import free_port

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
GREETING = b'[{"T":"success","msg":"connected"}]'


def frame(op, payload, fin=True, masked=False):
    head = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if masked:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def take(self, n):
        self.need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self):
        while b"\r\n\r\n" not in self.buf:
            self.need(len(self.buf) + 1)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode()

    def client_frame(self):
        """(opcode, payload, was_masked) of the next frame from tickerd."""
        b0, b1 = self.take(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.take(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.take(8))[0]
        key = self.take(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ key[i % 4] for i, b in enumerate(self.take(n)))
        return b0 & 0x0F, data, bool(b1 & 0x80)


def accept_for(request):
    key = [line.split(":", 1)[1].strip() for line in request.split("\r\n")
           if line.lower().startswith("sec-websocket-key:")][0]
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade(conn, accept=None):
    req = conn.request()
    conn.sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                       f"{accept or accept_for(req)}\r\n\r\n").encode())
    return req


class Server:
    """Accepts connections on 127.0.0.1 and runs script(conn, n) for each
    (n counts from 0), one thread each; results go into self.seen."""

    def __init__(self, script):
        self.script = script
        self.port = free_port()
        self.seen = []
        self.conns = 0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            s.settimeout(10)
            n, self.conns = self.conns, self.conns + 1
            threading.Thread(target=self.serve, args=(s, n), daemon=True).start()

    def serve(self, s, n):
        try:
            self.script(Conn(s), n, self.seen)
        except (EOFError, OSError):
            pass
        finally:
            s.close()

    def url(self):
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.lsock.close()


def start(tickerd, server, **opts):
    return tickerd.run(url=[server.url()], env=KEYS, stdout=True, subscribe="trades=*",
                       backoff_min=0.05, backoff_max=0.2, stats_interval=0, **opts)


def test_refused_upgrade_names_the_http_status(tickerd):
    def script(conn, n, seen):
        seen.append(conn.request())
        conn.sock.sendall(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n")

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"upstream \S+: connect failed: the upgrade was refused: HTTP 429 Too "
                         r"Many Requests; reconnecting in", count=2, timeout=15)
        assert not run.count_log(r"upstream \S+: connected")
        req = srv.seen[0]
        assert req.startswith("GET /v2/iex HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{srv.port}" in req
        assert "Sec-WebSocket-Version: 13" in req
        keys = {line.split(":", 1)[1].strip() for r in srv.seen for line in r.split("\r\n")
                if line.startswith("Sec-WebSocket-Key:")}
        assert len(keys) == len(srv.seen) >= 2, "a fresh key per connection"
        assert all(len(base64.b64decode(k)) == 16 for k in keys)
    finally:
        srv.close()


def test_wrong_accept_is_refused(tickerd):
    def script(conn, n, seen):
        upgrade(conn, accept=base64.b64encode(b"x" * 20).decode())
        conn.sock.sendall(frame(1, GREETING))
        time.sleep(1)

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"connect failed: the 101 answer has a wrong Sec-WebSocket-Accept; "
                         r"reconnecting", count=2, timeout=15)
        assert not run.count_log(r"upstream \S+: connected")
    finally:
        srv.close()


def test_masked_server_frame_is_a_protocol_error(tickerd):
    def script(conn, n, seen):
        upgrade(conn)
        conn.sock.sendall(frame(1, GREETING, masked=True))
        time.sleep(2)

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"upstream \S+: closed by tickerd: WebSocket protocol error from the "
                         r"server: masked frame from the server; reconnecting in", count=2,
                         timeout=15)
        assert run.poll() is None
    finally:
        srv.close()


def test_fragments_ping_and_close_code(tickerd):
    def script(conn, n, seen):
        upgrade(conn)
        half = len(GREETING) // 2
        conn.sock.sendall(frame(1, GREETING[:half], fin=False) + frame(9, b"are you there")
                          + frame(0, GREETING[half:]))
        seen.append(conn.client_frame())  # the pong
        seen.append(conn.client_frame())  # the auth message
        conn.sock.sendall(frame(1, b'[{"T":"success","msg":"authenticated"}]'))
        seen.append(conn.client_frame())  # the subscription
        conn.sock.sendall(frame(1, b'[{"T":"subscription","trades":["*"]}]'))
        trade = {"T": "t", "S": "AAPL", "i": 1, "x": "V", "p": 187.5, "s": 100,
                 "t": "2026-12-06T02:00:00.000000001Z", "c": ["@"], "z": "C"}
        conn.sock.sendall(frame(1, json.dumps([trade]).encode()))
        time.sleep(0.5)
        conn.sock.sendall(frame(8, struct.pack(">H", 4000) + b"bye"))
        seen.append(conn.client_frame())  # the close answer
        time.sleep(5)

    srv = Server(script)
    try:
        run = start(tickerd, srv)
        run.wait_for_log(r"upstream \S+: connection closed by the server \(close code 4000: "
                         r"bye\); reconnecting in", timeout=15)
        assert srv.seen[0] == (0xA, b"are you there", True)
        op, auth, masked = srv.seen[1]
        assert op == 1 and masked and json.loads(auth)["action"] == "auth"
        op, sub, masked = srv.seen[2]
        assert op == 1 and masked and json.loads(sub)["trades"] == ["*"]
        assert srv.seen[3] == (8, struct.pack(">H", 4000), True)
        lines = run.stdout_lines()
        assert len(lines) == 1 and json.loads(lines[0])["channel"] == "trades.AAPL"
    finally:
        srv.close()
