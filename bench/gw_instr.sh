#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions the gateway spends, counted by callgrind (so a busy machine
# does not change them, unlike CPU time): tickerd sim (--rate 3000 --count
# 45000, 1,000 symbols) -> tickerd run --listen under callgrind -> bench_gw
# with N clients (10 symbols each, trades + quotes) held 25 s. Prints the sim's
# totals, bench_gw's events and frames, and the inclusive instructions of
# the gateway's write path (write_frame, lws_write, td_outq_build) and of
# its enqueue (td__gw_client_push); the callgrind file stays in OUT_DIR.
#
#   bench/gw_instr.sh BUILD_DIR OUT_DIR [CLIENTS (1000)]
#
# Frames per event follow timing (valgrind is slow), so compare per frame
# and per event, not totals. Loopback only; every wait is bounded.
set -euo pipefail
B=$(cd "${1:?usage: bench/gw_instr.sh BUILD_DIR OUT_DIR [CLIENTS]}" && pwd)
O=${2:?usage: bench/gw_instr.sh BUILD_DIR OUT_DIR [CLIENTS]}
N=${3:-1000}
mkdir -p "$O"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); GP=$(port)
"$B/tickerd" sim --listen "127.0.0.1:$SP" --rate 3000 --count 45000 --symbols 1000 --batch 100 \
    --stats 1 2>"$O/sim.log" &
SIM=$!
sleep 0.3
APCA_API_KEY_ID=k APCA_API_SECRET_KEY=s valgrind --tool=callgrind --callgrind-out-file="$O/run.cg" \
    "$B/tickerd" run --url "ws://127.0.0.1:$SP/v2/iex" --listen "127.0.0.1:$GP" \
    --client bench:bench --max-clients 0 --stats-interval 1 2>"$O/run.log" &
RUN=$!
for _ in $(seq 150); do grep -q "gateway: listening" "$O/run.log" && break; sleep 0.2; done
sleep 3
timeout 80 "$B/bench_gw" --port "$GP" --key bench --secret bench --symbols 1000 --per-client 10 \
    --clients "$N" --hold 25 >"$O/bench_gw.out" 2>&1 || true
kill -INT "$RUN"; wait "$RUN" || true
kill "$SIM"; wait "$SIM" || true
grep -o "totals: .*" "$O/sim.log" | tail -1
grep -o '"subscribed":[0-9]*,"failed":[0-9]*' "$O/bench_gw.out" || true
grep -o '"events_total":[0-9]*,"frames":[0-9]*' "$O/bench_gw.out" || true
callgrind_annotate --inclusive=yes "$O/run.cg" 2>/dev/null |
    grep -E "PROGRAM TOTALS|[?]:(write_frame|lws_write|td_outq_build|td__gw_client_push) " || true
