#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages tickerd needs, and only those missing.
# Idempotent, never prompts. Usage: scripts/deps.sh [build|test|all]
set -euo pipefail

# libjsmn-dev: only fuzz/fuzz_alpaca_diff.c and bench/bench_split.c (an
# independent JSON parser to check and time the splitter against).
build_pkgs=(build-essential cmake ninja-build pkg-config
  libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libhiredis-dev libcurl4-openssl-dev
  libpq-dev libsqlite3-dev libssl-dev libjsmn-dev libinih-dev libmsgpack-dev libzstd-dev)
test_pkgs=(libcmocka-dev clang clang-format libclang-rt-14-dev openssl curl sqlite3 chromium
  redis-server redis-tools postgresql
  python3-pytest python3-websockets python3-redis python3-psycopg2 python3-aiohttp python3-msgpack
  python3-asyncpg)

case "${1:-all}" in
build) want=("${build_pkgs[@]}") ;;
test | all) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
