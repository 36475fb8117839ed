#!/usr/bin/env bash
# Instructions per request the dispatcher spends on GET /api/leads/:id (stub handler) with the
# rate limiter and request metrics off, on, and each alone: BM_DispatchGetLead under callgrind,
# whose instruction counts do not move with the host's load like timings do (this VM exposes no
# hardware counters to perf). Docs: docs/benchmarks.md, "Rate limits and metrics, second pass".
#   bash bench/dispatch_instructions.sh      (after `make build`; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-build/bench/micro_bench}
dir=$(mktemp -d /tmp/lms-dispatch-XXXXXX)
trap 'rm -rf "$dir"' EXIT
names=("both off" "both on" "limiter only" "metrics only")
echo "| BM_DispatchGetLead | instructions per request |"
echo "|---|---|"
for arg in 0 1 2 3; do
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$arg" --toggle-collect='BM_DispatchGetLead*' \
    "$BENCH" --benchmark_filter="DispatchGetLead/$arg\$" --benchmark_min_time=0.2 >/dev/null 2>&1
  # Requests = calls of choose_request_id (once per request); instructions = the total collected.
  per=$(python3 - "$dir/cg.$arg" <<'PY'
import re, sys
names, calls, total, pending = {}, 0, 0, False
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^(cfn|fn)=\((\d+)\)(?: (.*))?$", line.strip())
    if m:
        kind, ident, name = m.groups()
        if name: names[ident] = name
        if kind == "cfn": pending = "choose_request_id" in names.get(ident, "")
        continue
    if line.startswith("calls=") and pending:
        calls += int(line.split("=")[1].split()[0]); pending = False
    if line.startswith(("summary:", "totals:")):
        total = int(line.split()[1])
print(total // max(calls, 1))
PY
)
  echo "| ${names[$arg]} | $per |"
done
