#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny example token issuer for tickerd's gateway (HS256, Python's
standard library only). Your application's backend does this after logging
its user in; tickerd only verifies.

Print one token:
    TICKERD_JWT_HS256_SECRET=... examples/jwt_issue.py --sub alice --ttl 3600 \\
        [--kinds quotes,bars] [--symbols AAPL,MSFT]

Serve tokens to the quote board (GET /token answers {"token": "..."} with
CORS for --origin; the board's ?issuer=URL parameter fetches from it):
    TICKERD_JWT_HS256_SECRET=... examples/jwt_issue.py --serve 127.0.0.1:8081 \\
        --origin http://127.0.0.1:8080

Over https (a board served by --listen-tls must fetch from https too):
    ... --serve 127.0.0.1:8444 --origin https://127.0.0.1:8443 \\
        --cert server.pem --key server.key

The secret is read from TICKERD_JWT_HS256_SECRET, the same variable tickerd
reads. The "tickerd" claim restricts kinds and symbols; without --kinds and
--symbols the token allows everything.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(secret, sub, ttl=3600.0, kinds=None, symbols=None, now=None, extra=None):
    """An HS256 token for sub, valid ttl seconds (negative: already expired)."""
    now = time.time() if now is None else now
    claims = {"sub": sub, "iat": int(now), "exp": int(now + ttl)}
    if kinds or symbols:
        claims["tickerd"] = {"kinds": kinds or "*", "symbols": symbols or "*"}
    claims.update(extra or {})
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def serve(addr, secret, args):
    host, port = addr.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/token":
                self.send_error(404)
                return
            tok = make_token(secret, args.sub, args.ttl, split(args.kinds), split(args.symbols))
            body = json.dumps({"token": tok}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            if args.origin:
                self.send_header("Access-Control-Allow-Origin", args.origin)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, int(port)), Handler)
    scheme = "http"
    if args.cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    print(f"serving tokens on {scheme}://{host}:{port}/token", file=sys.stderr, flush=True)
    server.serve_forever()


def split(s):
    return [x for x in s.split(",") if x] if s else None


def main():
    p = argparse.ArgumentParser(description="issue HS256 tokens for tickerd's gateway")
    p.add_argument("--sub", default="board", help="the client's name (logs)")
    p.add_argument("--ttl", type=float, default=3600, help="seconds the token is valid")
    p.add_argument("--kinds", help="comma-separated channel words, e.g. quotes,bars")
    p.add_argument("--symbols", help="comma-separated symbols, e.g. AAPL,MSFT")
    p.add_argument("--serve", metavar="HOST:PORT", help="serve GET /token instead of printing")
    p.add_argument("--origin", help="with --serve: the board's origin (CORS)")
    p.add_argument("--cert", help="with --serve: serve https with this certificate chain (PEM)")
    p.add_argument("--key", help="the private key of --cert (PEM)")
    args = p.parse_args()
    secret = os.environ.get("TICKERD_JWT_HS256_SECRET")
    if not secret:
        sys.exit("jwt_issue.py: set TICKERD_JWT_HS256_SECRET")
    if args.cert and not (args.serve and args.key):
        sys.exit("jwt_issue.py: --cert goes with --serve and --key")
    if args.serve:
        serve(args.serve, secret, args)
    else:
        print(make_token(secret, args.sub, args.ttl, split(args.kinds), split(args.symbols)))


if __name__ == "__main__":
    main()
