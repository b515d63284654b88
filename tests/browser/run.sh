#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Headless-browser test of web/ (the live quote board) against `tickerd sim`, and
# (board_tls.test.mjs) over https/wss from --listen-tls with a token from the example
# issuer, Chromium trusting the throwaway certificate by its SPKI hash.
# Installs Debian's chromium if missing (as scripts/deps.sh does) and playwright-core
# (pinned in package.json/package-lock.json) if node_modules is missing, then runs
# `node --test`. Never downloads a browser of its own.
# Helpers shared with the other JavaScript suite: tests/js/procs.mjs (node's
# standard library only, so it needs neither suite's node_modules).
#
# Env: TICKERD (default build/asan-ubsan/tickerd), TICKERD_GATEWAY_URL, CHROMIUM,
#      UPDATE_DOCS_SCREENSHOT=1 (also copy the screenshot to docs/board.png), VERBOSE=1.
# Screenshot: tests/artifacts/board.png
set -euo pipefail
SUDO=
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -z "${CHROMIUM:-}" ] &&
  ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then
  echo "browser test: installing chromium" >&2
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "browser test: need root or sudo to install chromium" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q --no-install-recommends chromium >&2
fi

if ! command -v node >/dev/null; then
  echo "browser test: installing nodejs and npm" >&2
  ${SUDO:-} apt-get install -y -q --no-install-recommends nodejs npm >&2
fi
cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  # playwright-core never downloads browsers; this one stays on Debian's chromium
  npm ci --no-audit --no-fund >&2 || npm install --no-audit --no-fund >&2
fi

export TICKERD="${TICKERD:-$root/build/asan-ubsan/tickerd}"
exec node --test --test-reporter=spec "$here"/*.test.mjs
