#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, one at a time.
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS]      (make fuzz; FUZZ_SECONDS=60)
#
# Each target fuzz_<name> starts from the committed seeds in fuzz/corpus/<name>/
# and uses fuzz/<name>.dict, or fuzz/<vendor>.dict for fuzz_<vendor>_*, when one
# exists. New inputs go to a temporary directory, so the committed corpus is
# untouched; with FUZZ_MERGE=1 the new inputs that add coverage are merged into
# it (libFuzzer -merge=1). Crash reproducers go to BUILD_DIR/fuzz-findings/<name>/.
# Prints the executions per target; exits non-zero if any target found a crash.
# Extra libFuzzer flags may be given in FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
set -u -o pipefail

build=$(cd "${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}" && pwd) || exit 2
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tickerd-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz_* binaries in $build (cmake --preset fuzz && cmake --build --preset fuzz)" >&2
    exit 2
fi

failed=0
for bin in "${targets[@]}"; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    target=$(basename "$bin")
    name=${target#fuzz_}
    seeds="$root/fuzz/corpus/$name"
    work="$tmp/$name"
    findings="$build/fuzz-findings/$name"
    mkdir -p "$work" "$findings" "$seeds"
    args=(-max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$findings/")
    for dict in "$root/fuzz/$name.dict" "$root/fuzz/${name%%_*}.dict"; do
        if [ -f "$dict" ]; then
            args+=(-dict="$dict")
            break
        fi
    done
    log="$tmp/$name.log"
    echo "== $target: ${secs}s, seeds $seeds"
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    "$bin" "${args[@]}" ${FUZZ_FLAGS:-} "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -ne 0 ]; then
        failed=1
        echo "!! $target: FAILED (exit $rc) after ${execs:-?} executions; reproducers in $findings"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -20
        cp "$log" "$findings/last.log"
    else
        echo "   $target: ${execs:-?} executions, ${cov:-cov ?}, $(ls "$work" | wc -l) new inputs, no crash"
        rmdir "$findings" 2>/dev/null || true
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ] && [ $rc -eq 0 ]; then
        "$bin" -merge=1 "$seeds" "$work" >"$tmp/$name.merge.log" 2>&1 &&
            echo "   merged into $seeds ($(ls "$seeds" | wc -l) files)"
    fi
done
rmdir "$build/fuzz-findings" 2>/dev/null || true
exit $failed
