#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The official Alpaca JavaScript SDK (@alpacahq/alpaca-trade-api) against
# tickerd's gateway in MessagePack mode, and the official Polygon.io client
# (@polygon.io/client-js) against its Polygon paths; both pinned in
# package.json/package-lock.json; and both over wss:// to --listen-tls with a
# throwaway CA (openssl) and tokens from examples/jwt_issue.py (wss_token.test.mjs).
# Installs node_modules if missing, then runs `node --test`; exits non-zero on failure.
# Helpers shared with the other JavaScript suite: tests/js/procs.mjs (node's
# standard library only, so it needs neither suite's node_modules).
#
# Env: TICKERD (default build/asan-ubsan/tickerd), VERBOSE=1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v node >/dev/null || { echo "sdk test: node (>= 20) is required" >&2; exit 1; }
cd "$here"
if [ ! -d node_modules/@alpacahq/alpaca-trade-api ] || [ ! -d node_modules/@polygon.io/client-js ]; then
  npm ci --no-audit --no-fund >&2 || npm install --no-audit --no-fund >&2
fi

export TICKERD="${TICKERD:-$root/build/asan-ubsan/tickerd}"
exec node --test --test-reporter=spec "$here"/*.test.mjs
