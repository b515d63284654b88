#!/usr/bin/env bash
# The official Alpaca JavaScript SDK (@alpacahq/alpaca-trade-api, pinned in
# package.json/package-lock.json) against tickerd's gateway in MessagePack mode.
# Installs node_modules if missing, then runs `node --test`; exits non-zero on failure.
#
# Env: TICKERD (default build/asan-ubsan/tickerd), VERBOSE=1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v node >/dev/null || { echo "sdk test: node (>= 20) is required" >&2; exit 1; }
cd "$here"
if [ ! -d node_modules/@alpacahq/alpaca-trade-api ]; then
  npm ci --no-audit --no-fund >&2 || npm install --no-audit --no-fund >&2
fi

export TICKERD="${TICKERD:-$root/build/asan-ubsan/tickerd}"
exec node --test --test-reporter=spec "$here"/*.test.mjs
