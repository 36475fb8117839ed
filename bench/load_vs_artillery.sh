#!/usr/bin/env bash
# lms-load against Artillery on the same small run: the same USERS users (one account each),
# the same mix (lms-load's default weights without imports), the same exponential think time,
# no sockets, the same duration; lms-load first, then Artillery, against one lms. Prints both
# tools' per-action and overall p50/p95/p99 for docs/benchmarks.md.
#   bash bench/load_vs_artillery.sh      (after `make build`; installs Artillery from npm once)
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
LOAD=${LOAD:-build/lms-load}
PORT=${PORT:-18960}
USERS=${USERS:-50}
SECONDS_RUN=${SECONDS_RUN:-60}
RAMP=${RAMP:-5}
THINK_MEAN_MS=${THINK_MEAN_MS:-1000}
here=$(pwd)
if [ ! -x bench/artillery/node_modules/.bin/artillery ]; then
  # --ignore-scripts: a dependency's install script would download a browser (not needed here).
  (cd bench/artillery && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
dir=$(mktemp -d /tmp/lms-vs-artillery-XXXXXX)
url="http://127.0.0.1:$PORT"
LMS_RATE_API=off LMS_RATE_AUTH=off "$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$dir/lms.db" \
  --log-requests false --token-secret "versus-artillery-secret-versus-artillery" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done

cat >"$dir/scenario.json" <<EOF2
{"weights": {"import": 0}, "thinkTimeMs": {"mean": $THINK_MEAN_MS, "min": 100, "max": 10000}, "sockets": false,
 "teamSize": $USERS}
EOF2
"$LOAD" setup --url "$url" --accounts "$USERS" --state "$dir/state.json" --scenario "$dir/scenario.json" 2>/dev/null
python3 - "$dir/state.json" "$dir/tokens.csv" <<'EOF2'
import json, sys
state = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    for org in state["organizations"]:
        for a in org["accounts"]:
            out.write(a["accessToken"] + "\n")
EOF2

"$LOAD" run --url "$url" --state "$dir/state.json" --scenario "$dir/scenario.json" --users "$USERS" \
  --ramp "${RAMP}s" --duration "${SECONDS_RUN}s" --out "$dir/load.json" --report "$dir/report" 2>/dev/null
echo "lms-load ($USERS users, ${SECONDS_RUN}s): action | count | p50 | p95 | p99 (ms)"
sed -n '/^## Actions/,$p' "$dir/report/capacity.md" | grep -E '^\| [a-z]' | grep -v '^| action'
grep -E '^\| [0-9]+ \| [0-9.]+ \|' "$dir/report/capacity.md" | head -1 |
  awk -F'|' '{printf "| overall | - |%s|%s|%s|\n", $4, $6, $7}'

cp bench/artillery/desk.yml bench/artillery/flow.js "$dir/"
(cd "$dir" && TARGET="$url" USERS="$USERS" RAMP_SECONDS="$RAMP" RUN_SECONDS=$((SECONDS_RUN + RAMP)) \
  THINK_MEAN_MS="$THINK_MEAN_MS" "$here/bench/artillery/node_modules/.bin/artillery" run --output artillery.json desk.yml >artillery.log 2>&1)
echo "artillery ($USERS users): request | count | p50 | p95 | p99 (ms)"
python3 - "$dir/artillery.json" <<'EOF2'
import json, sys
report = json.load(open(sys.argv[1]))
summaries = report["aggregate"]["summaries"]
counters = report["aggregate"]["counters"]
prefix = "plugins.metrics-by-endpoint.response_time."
for name in sorted(k[len(prefix):] for k in summaries if k.startswith(prefix)):
    s = summaries[prefix + name]
    print(f"| {name} | {s['count']} | {s['median']} | {s['p95']} | {s['p99']} |")
s = summaries["http.response_time"]
print(f"| overall | {s['count']} | {s['median']} | {s['p95']} | {s['p99']} |")
print("errors:", {k: v for k, v in counters.items() if k.startswith("errors.") or (k.startswith("http.codes.") and not k.startswith("http.codes.2"))})
EOF2
