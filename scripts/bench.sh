#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks (make bench): splitter alone, splitter + bus, end to end through
# Redis with a redis-benchmark ceiling, tickerd's CPU/RSS at a steady
# rate, the gateway (bench/gw.py: saturation and latency with 1,000
# WebSocket clients, RSS per client with 10,000 idle ones) and libtickerd
# (bench_client in memory, bench/client.py against the sim). Raw outputs go to bench/out/ (gitignored); a summary is printed.
#
#   scripts/bench.sh BUILD_DIR      (e.g. build/release)
#
# Environment: BENCH_RATES (comma list for the end-to-end ladder),
# BENCH_SECONDS (seconds per rung, default 4), BENCH_OUT (default bench/out),
# BENCH_GW_RATES (sim rates of the gateway ladder), BENCH_GW=0 skips the
# gateway part, BENCH_GW_ONLY=1 runs only it; libtickerd (bench_client in
# memory, bench/client.py over loopback): BENCH_CLIENT_RATES (its sim
# ladder), BENCH_CLIENT=0 skips it, BENCH_CLIENT_ONLY=1 runs only it.
# bench/backfill.py (tickerd backfill vs Python baselines and a raw libpq
# COPY into a throwaway PostgreSQL, and the 1,023-request grid; ~40 s):
# BENCH_BACKFILL=0 skips it, BENCH_BACKFILL_ONLY=1 runs only it.
# bench/proxy_peer.py (tickerd vs a Python asyncio proxy doing the same job
# against the same sim, Redis and subscriber: CPU µs per event; ~35 s):
# BENCH_PEER=0 skips it, BENCH_PEER_ONLY=1 runs only it.
# Exits non-zero only when the harness itself fails, not when a target is
# missed. Loopback only; every wait is bounded.
set -euo pipefail

BUILD=${1:?usage: scripts/bench.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=$(cd "$BUILD" && pwd)
OUT=${BENCH_OUT:-$ROOT/bench/out}
PY=/usr/bin/python3
RATES=${BENCH_RATES:-50000,100000,200000,300000,400000,500000,600000,800000,1000000,1200000}
SECONDS_PER_RUNG=${BENCH_SECONDS:-4}

for b in tickerd bench_split bench_bus bench_sub bench_gw bench_client bench_pgcopy count_events; do
    [[ -x $BUILD/$b ]] || { echo "bench: $BUILD/$b missing (build the release preset)" >&2; exit 1; }
done
for c in redis-server redis-cli redis-benchmark; do
    command -v "$c" >/dev/null || { echo "bench: $c not found (scripts/deps.sh)" >&2; exit 1; }
done

rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

# Busy % of all cores over one second (from /proc/stat).
busy_pct() {
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    local ta=0 tb=0 i
    for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
    local ia=$((a[4] + a[5])) ib=$((b[4] + b[5]))
    echo $(( 100 * ((tb - ta) - (ib - ia)) / (tb - ta > 0 ? tb - ta : 1) ))
}
# The machine may be shared (other jobs, fuzzing campaigns): wait, bounded,
# for it to be quiet, and record what was running either way.
QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
waited=0
busy=$(busy_pct)
while (( busy > 15 && waited < QUIET_WAIT )); do
    (( waited == 0 )) && echo "bench: machine ${busy}% busy before starting; waiting up to ${QUIET_WAIT} s for it to calm down"
    sleep 4; waited=$((waited + 5)); busy=$(busy_pct)
done

# --- machine --------------------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -sr)"
    echo "mem: $(grep MemTotal /proc/meminfo | tr -s ' ')"
    echo "redis: $(redis-server --version)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    dirty=$(git status --short -- src include CMakeLists.txt 2>/dev/null | tr '\n' ' ')
    echo "uncommitted source changes built: ${dirty:-none}"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); all cores ${busy}% busy in the second before (waited ${waited} s)"
    echo "other busy processes before:"
    ps -eo pcpu=,pid=,etime=,comm= --sort=-pcpu | awk '$1 > 5.0' | head -5 | sed 's/^/  (lifetime %cpu) /'
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"
echo

GW_RATES=${BENCH_GW_RATES:-20000,40000,60000,80000,100000,120000,150000,200000,300000,400000}
CLIENT_RATES=${BENCH_CLIENT_RATES:-200000,400000,600000,800000,900000,1000000,1200000}
if [[ ${BENCH_CLIENT_ONLY:-0} == 1 ]]; then BENCH_GW_ONLY=1; BENCH_GW=0; BENCH_BACKFILL=0; fi
if [[ ${BENCH_BACKFILL_ONLY:-0} == 1 ]]; then BENCH_GW_ONLY=1; BENCH_GW=0; BENCH_CLIENT=0; fi
if [[ ${BENCH_PEER_ONLY:-0} == 1 ]]; then BENCH_GW_ONLY=1; BENCH_GW=0; fi
if [[ ${BENCH_GW_ONLY:-0} == 1 && ${BENCH_PEER_ONLY:-0} != 1 ]]; then BENCH_PEER=0; fi
if [[ ${BENCH_GW_ONLY:-0} == 1 ]]; then BENCH_CLIENT=${BENCH_CLIENT_ONLY:-0}; BENCH_BACKFILL=${BENCH_BACKFILL_ONLY:-0}; fi
if [[ ${BENCH_GW_ONLY:-0} != 1 ]]; then
# --- 1. splitter + router in memory ----------------------------------------
echo "== 1. splitter + router, in memory, one core (1 M events, frames of 100)"
(cd "$OUT" && timeout 110 "$BUILD/bench_split" 1000000 9) | tee "$OUT/bench_split.txt"
(cd "$OUT" && timeout 110 "$BUILD/bench_bus" 1000000 7) | tee "$OUT/bench_bus.txt"
echo

# --- 2-4. end to end --------------------------------------------------------
echo "== 2-4. end to end: tickerd sim -> tickerd run --redis -> redis-server -> bench_sub"
timeout 230 "$PY" bench/e2e.py "$BUILD" "$OUT" --rates "$RATES" --seconds "$SECONDS_PER_RUNG" \
    --steady-rate 100000 --steady-window 20 | tee "$OUT/e2e.txt"
echo

# --- summary ----------------------------------------------------------------
"$PY" - "$OUT" <<'EOF' | tee "$OUT/summary.txt"
import json, re, sys
out = sys.argv[1]
split = open(f"{out}/bench_split.txt").read()
bus = open(f"{out}/bench_bus.txt").read()
r = json.load(open(f"{out}/results.json"))
def f(rx, s):
    m = re.search(rx, s)
    return float(m[1]) if m else float("nan")
sb = f(r"split: best ([\d.]+) M", split)
sm = f(r"split: best [\d.]+ M events/s \([\d.]+ MB/s\), median ([\d.]+) M", split)
jb = f(r"jsmn:  best ([\d.]+) M", split)
bw = f(r"split\+bus wildcard: best [\d.]+ M events/s, median ([\d.]+) M", bus)
ceil = r["ceiling"]["publish_per_s"]
best = r.get("best_lossless_rate", 0)
st = r.get("steady", {}).get("steady", {})
lat = r.get("steady", {}).get("latency", {})
print("== summary")
print(f"1. splitter+router (bench_split): {sm:.2f} M events/s median, best {sb:.2f} "
      f"(jsmn ceiling {jb:.2f}, ratio {sb / jb:.2f}); target >= 5 M/s: "
      f"{'MET' if sm >= 5 else 'MISSED'}")
print(f"   splitter+td_bus on sim events (bench_bus): {bw:.2f} M events/s median")
print(f"2. end to end: highest lossless rate {best} events/s (forwarded "
      f"{r.get('best_delivered_rate', 0)}/s); redis-benchmark PUBLISH -P 64: {ceil:.0f}/s; "
      f"ratio {best / ceil:.3f}; stopped by: {r.get('stopped_by')}")
print(f"3. tickerd at {st.get('rate')} events/s: CPU {st.get('tickerd_cpu_pct')} % of one core "
      f"over {st.get('window_s')} s, VmRSS {st.get('tickerd_vmrss_kb')} kB, "
      f"VmHWM {st.get('tickerd_vmhwm_kb')} kB; lossless: {r.get('steady', {}).get('pass')}")
others = {}
for x in r.get("ladder", []) + ([r["steady"]] if "steady" in r else []):
    for o in x.get("other_processes_cpu", []):
        if o["cpu_pct"] >= 5:
            others.setdefault(f"{o['comm']}({o['pid']})", []).append(o["cpu_pct"])
if others:
    print("WARNING: other processes used CPU during the end-to-end runs: " +
          ", ".join(f"{k} up to {max(v)}% of a core" for k, v in others.items()))
for k, v in lat.items():
    print(f"4. latency {k}: p50 {v['p50_us']:.0f} us, p99 {v['p99_us']:.0f} us, "
          f"p999 {v['p999_us']:.0f} us, max {v['max_us']:.0f} us (n={v['samples']})")
EOF
fi

# --- 5-7. the gateway ---------------------------------------------------------
if [[ ${BENCH_GW:-1} != 0 ]]; then
echo "== 5-7. gateway: tickerd sim -> tickerd run --listen -> bench_gw (WebSocket clients)"
timeout 400 "$PY" bench/gw.py "$BUILD" "$OUT" --clients 1000 --rates "$GW_RATES" --window 5 \
    --latency-window 10 --idle-clients 10000 | tee "$OUT/gw.txt"
"$PY" - "$OUT" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(f"{sys.argv[1]}/gw-results.json"))
best = r.get("best_delivered_per_s", 0)
print(f"5. gateway, 1000 clients: highest sim rate with every event to every client "
      f"{r.get('best_rate')}/s = {best:.0f} events/s delivered; target >= 1 M/s: "
      f"{'MET' if best >= 1e6 else 'MISSED'}; stopped by: {r.get('stopped_by')}")
for x in r.get("ladder", []):
    c = x["cpu"]
    print(f"   rate {x['rate']}: {'pass' if x['pass'] else 'FAIL'}, delivered "
          f"{x['gen']['delivered_per_s']:.0f}/s, cpu% tickerd {c.get('tickerd')} sim {c.get('sim')} "
          f"bench_gw {c.get('bench_gw')} softirq {c.get('machine_softirq_pct_of_one_core')} "
          f"not ours {c.get('unaccounted_pct_of_one_core')}")
lat = r.get("latency")
if lat:
    l, k, c = lat["gen"]["latency_us"], lat["gen"]["latency_kernel_us"], lat["cpu"]
    print(f"6. gateway latency at {lat['rate']}/s ({lat['gen']['delivered_per_s']:.0f} delivered/s): "
          f"p50 {l['p50']} us, p99 {l['p99']} us, p99.9 {l['p999']} us, max {l['max']:.0f} us "
          f"(n={l['n']}; at the client's socket: p50 {k['p50']} us, p99 {k['p99']} us); "
          f"target p99 <= 2 ms: {'MET' if l['p99'] <= 2000 else 'MISSED'}; cpu% "
          f"tickerd {c.get('tickerd')} sim {c.get('sim')} bench_gw {c.get('bench_gw')} not ours "
          f"{c.get('unaccounted_pct_of_one_core')}")
i = r.get("idle")
if i:
    per = i["rss_per_client_bytes"]
    print(f"7. gateway memory: {i['clients']} idle clients: tickerd VmRSS {i['rss_before_kb']} -> "
          f"{i['rss_after_kb']} kB = {per / 1024:.2f} KiB per client; target <= 8 KiB: "
          f"{'MET' if per <= 8192 else 'MISSED'}")
others = {}
for x in r.get("ladder", []) + [v for v in (r.get("latency"), r.get("idle")) if v]:
    for o in x.get("other_processes_cpu", []):
        if o["cpu_pct"] >= 5:
            others.setdefault(f"{o['comm']}({o['pid']})", []).append(o["cpu_pct"])
if others:
    print("WARNING: other processes used CPU during the gateway runs: " +
          ", ".join(f"{k} up to {max(v)}% of a core" for k, v in others.items()))
EOF
fi
# --- 8-9. libtickerd ----------------------------------------------------------
if [[ ${BENCH_CLIENT:-1} != 0 ]]; then
echo "== 8. libtickerd decode + dispatch, in memory, one core (Polygon stocks, 1 M events)"
(cd "$OUT" && timeout 60 "$BUILD/bench_client" 1000000 7) | tee "$OUT/bench_client.txt"
echo "== 9. libtickerd over loopback: tickerd sim /stocks -> count_events (trades+quotes of *)"
timeout 150 "$PY" bench/client.py "$BUILD" "$OUT" --rates "$CLIENT_RATES" --seconds 3 \
    | tee "$OUT/client.txt"
"$PY" - "$OUT" <<'EOF' | tee -a "$OUT/summary.txt"
import json, re, sys
out = sys.argv[1]
t = open(f"{out}/bench_client.txt").read()
r = json.load(open(f"{out}/client-results.json"))
def f(rx):
    m = re.search(rx, t)
    return float(m[1]) if m else float("nan")
med = r" +best [\d.]+ M events/s \([\d.]+ MB/s\), median ([\d.]+) M"
cm, cb = f(r"client:" + med), f(r"client: +best ([\d.]+) M")
dm, sm = f(r"dispatch:" + med), f(r"split:" + med)
print(f"8. libtickerd in memory (bench_client): {cm:.2f} M events/s median (best {cb:.2f}) with "
      f"an accessor + timestamp_ns per event; {dm:.2f} M/s dispatch only; splitter alone "
      f"{sm:.2f} M/s; ratio {cm / sm:.3f} (dispatch only {dm / sm:.3f})")
c = r.get("best_cpu") or {}
print(f"9. libtickerd over loopback: highest sim rate kept up with {r.get('best_rate')}/s = "
      f"{r.get('best_received_per_s')} events/s received (trades+quotes), client "
      f"{c.get('client')} % of one core, sim {c.get('sim')} %; stopped by: {r.get('stopped_by')}")
EOF
fi
if [[ ${BENCH_BACKFILL:-1} == 1 ]]; then
    echo "== backfill: tickerd backfill vs Python asyncio/sync, raw COPY, grid =="
    timeout 300 $PY "$ROOT/bench/backfill.py" --build "$BUILD" --out "$OUT" | tee "$OUT/backfill.txt" ||
        echo "bench: backfill part failed" >&2
fi
if [[ ${BENCH_PEER:-1} == 1 ]]; then
    echo "== peer: tickerd vs a Python asyncio proxy (sim 60 k/s, trades+quotes of 500 symbols) =="
    timeout 110 $PY "$ROOT/bench/proxy_peer.py" "$BUILD" "$OUT/peer" | tee "$OUT/peer.txt" ||
        echo "bench: peer part failed" >&2
    if [[ -s $OUT/peer.txt ]]; then sed 's/^/peer: /' "$OUT/peer.txt" >> "$OUT/summary.txt"; fi
fi
if [[ ${BENCH_CLUSTER:-1} == 1 && ${BENCH_GW_ONLY:-0} != 1 ]]; then
    echo "== Redis Cluster: one Redis vs 3 primaries, same load (BENCH_CLUSTER=0 skips) =="
    timeout 300 $PY "$ROOT/bench/cluster_cost.py" "$BUILD/tickerd" --rounds 1 |
        tee "$OUT/cluster_cost.txt" || echo "bench: cluster part failed" >&2
fi
echo "bench: raw outputs in $OUT; $(( $(date +%s) - start )) s in all"
