#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded default behind `make run`: the vendor simulator and tickerd
# wired to it, no Redis, no keys, no internet. First a short backfill (the
# last 5 days, today through now included, of 15-minute bars of 5 tickers)
# into the default SQLite store,
# tickerd.db (DEMO_DB to change it; DEMO_BACKFILL=0 to skip); then the live
# proxy: events go to stdout as JSON lines, a stats line goes to stderr every
# second, and tickerd's gateway serves the quote board (web/, so run this
# from the repository root) and Alpaca-dialect WebSocket clients (key and
# secret: demo / demo) on 127.0.0.1:8080 or the next free port. Ctrl-C stops
# both and exits 0. Nothing but events is written to stdout.
set -euo pipefail
# On a terminal, the demo runs in a foreground process group of its own, so
# that Ctrl-C reaches the demo and not make (scripts/foreground.py says why).
if [ -z "${TICKERD_DEMO_FG:-}" ] && command -v python3 >/dev/null; then
  TICKERD_DEMO_FG=1 exec python3 "$(dirname "$0")/foreground.py" "$0" "$@"
fi
bin=${1:-build/release/tickerd}
# First free port from 18765 up (bash's /dev/tcp: no other tool needed).
port=${SIM_PORT:-18765}
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
rate=${SIM_RATE:-20}
gw=${GW_PORT:-8080}
while (exec 3<>"/dev/tcp/127.0.0.1/$gw") 2>/dev/null || [ "$gw" = "$port" ]; do gw=$((gw + 1)); done

"$bin" sim --listen "127.0.0.1:$port" --rate "$rate" --symbols 20 --log-level warn &
sim=$!
conf=$(mktemp)
printf '[clients]\ndemo = demo\n' >"$conf" # keys tickerd issues to its clients
# Under set -e a failing command in the trap would become the exit status:
# the simulator has usually exited on the same Ctrl-C, so kill may fail.
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; rm -f "$conf"' EXIT
# Ctrl-C reaches every process of the terminal's group: tickerd and the
# simulator stop by themselves; the script only records it (and does not
# start the live stream after an interrupted backfill).
interrupted=0
trap 'interrupted=1' INT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

if [ "${DEMO_BACKFILL:-1}" = 1 ]; then
  db=${DEMO_DB:-tickerd.db}
  echo "tickerd demo: backfilling 15-minute bars of the last 5 days into sqlite:$db" >&2
  APCA_API_KEY_ID=demo APCA_API_SECRET_KEY=demo "$bin" backfill \
    --url "http://127.0.0.1:$port" --symbols AAPL,MSFT,NVDA,TSLA,BRK.B \
    --start "$(date -u -d '4 days ago' +%F)" --end "$(date -u +%F)" --timeframe 15Min \
    --rate 0 --store "sqlite:$db" || [ "$interrupted" = 1 ] ||
    echo "tickerd demo: the backfill failed; going on with the live stream" >&2
  [ "$interrupted" = 0 ] || exit 0
  echo "tickerd demo: try  sqlite3 $db 'SELECT symbol, count(*), max(ts) FROM bars GROUP BY symbol'" >&2
fi
echo "tickerd demo: simulator on 127.0.0.1:$port at $rate events/s; Ctrl-C to stop" >&2
echo "tickerd demo: quote board at http://127.0.0.1:$gw/ (WebSocket ws://127.0.0.1:$gw/v2/iex, key demo, secret demo)" >&2
# A Ctrl-C from here on must stop the live stream too, even one that came
# before tickerd had set up its handlers: tickerd runs in the background
# while the script watches it, and is told with SIGTERM once the script
# has seen the Ctrl-C (a background job starts with SIGINT ignored until
# tickerd's own handler is set).
[ "$interrupted" = 0 ] || exit 0
APCA_API_KEY_ID=demo APCA_API_SECRET_KEY=demo "$bin" run -c "$conf" \
  --url "ws://127.0.0.1:$port/v2/iex" \
  --url "ws://127.0.0.1:$port/v1beta3/crypto/us" \
  --url "ws://127.0.0.1:$port/v1beta1/news" \
  --subscribe 'trades=*;quotes=*;bars=*;statuses=*;news=*' \
  --listen "127.0.0.1:$gw" --web-root "${WEB_ROOT:-web}" \
  --rest-url "http://127.0.0.1:$port" \
  --stdout --stats-interval 1 "${@:2}" &
live=$!
sent=0
while kill -0 "$live" 2>/dev/null; do
  if [ "$interrupted" = 1 ] && [ "$sent" = 0 ]; then
    kill -TERM "$live" 2>/dev/null || true
    sent=1
  fi
  sleep 0.2 || true
done
wait "$live" && rc=0 || rc=$?
# stopped by the signal before its handlers were set up: still a clean stop
if [ "$interrupted" = 1 ] && { [ "$rc" = 130 ] || [ "$rc" = 143 ]; }; then rc=0; fi
exit "$rc"
