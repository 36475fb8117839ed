#!/usr/bin/env bash
# Runs the timing-sensitive black-box tests N times (default 20) with two busy loops beside
# them (one per core), so a test that depends on the machine being idle shows itself before CI
# does. Exits non-zero if any run failed; the gtest output is in $OUT (default /tmp/stress_timing.out).
#   bash scripts/stress_timing.sh [N] [gtest filter]      (after `make build`)
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
FILTER=${2:-'SocketLimitsTest.*:HttpTest.*:RateLimitTest.*:LifecycleTest.*:ContractTest.*:MetricsTest.*'}
OUT=${OUT:-/tmp/stress_timing.out}
hogs=()
for _ in $(seq "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
start=$(date +%s)
build/tests/blackbox_tests --gtest_filter="$FILTER" --gtest_repeat="$N" >"$OUT" 2>&1
rc=$?
echo "stress_timing: $N runs, $(grep -c '^\[  FAILED  \] .*(' "$OUT") failed test runs, $(( $(date +%s) - start )) s (output in $OUT)"
exit $rc
