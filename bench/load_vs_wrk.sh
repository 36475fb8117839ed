#!/usr/bin/env bash
# lms-load against a stock tool on the same small run: N connections, no think time, one
# action (GET /api/leads?limit=50 as the same admin), first lms-load (closed model, no sockets),
# then wrk, in alternating turns; prints both tools' requests/s and percentiles so
# docs/benchmarks.md can show that the figures agree where both tools can go.
#   bash bench/load_vs_wrk.sh          (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
LOAD=${LOAD:-build/lms-load}
PORT=${PORT:-18950}
USERS=${USERS:-16}
DURATION=${DURATION:-10}
TURNS=${TURNS:-3}
dir=$(mktemp -d /tmp/lms-vs-wrk-XXXXXX)
url="http://127.0.0.1:$PORT"
LMS_RATE_API=off LMS_RATE_AUTH=off "$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$dir/lms.db" \
  --log-requests false --token-secret "versus-wrk-secret-versus-wrk-secret-xx" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done

cat >"$dir/list-only.json" <<'EOF'
{"weights": {"list": 100, "search": 0, "open": 0, "status": 0, "note": 0, "create": 0, "count": 0, "import": 0},
 "thinkTimeMs": {"mean": 0.001, "min": 0, "max": 0.001}, "sockets": false, "teamSize": 1, "leadsPerTeam": 1000}
EOF
"$LOAD" setup --url "$url" --accounts 1 --state "$dir/state.json" --scenario "$dir/list-only.json" 2>/dev/null
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["organizations"][0]["accounts"][0]["accessToken"])' "$dir/state.json")
cat >"$dir/auth.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $token"
EOF

for turn in $(seq "$TURNS"); do
  "$LOAD" run --url "$url" --state "$dir/state.json" --scenario "$dir/list-only.json" --users "$USERS" \
    --ramp 1s --duration "${DURATION}s" --out "$dir/load.json" 2>/dev/null
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"][0]; print("lms-load  %d users: %.0f req/s" % (s["users"], s["actions"]["list"]["ok"] / s["seconds"]))' "$dir/load.json"
  "$LOAD" report "$dir/load.json" --out "$dir/report" 2>/dev/null
  grep -E '^\| [0-9]+ \| [0-9.]+ \|' "$dir/report/capacity.md" | head -1 |
    awk -F'|' '{printf "lms-load  p50 %s ms  p90 %s ms  p99 %s ms  max %s ms\n", $4, $5, $7, $9}'
  wrk -t "$(( USERS < 2 ? 1 : 2 ))" -c "$USERS" -d "${DURATION}s" --latency -s "$dir/auth.lua" "$url/api/leads?limit=50" |
    awk '/Requests\/sec/ {printf "wrk       %d connections: %s req/s\n", '"$USERS"', $2} /^ +50%/ {p50=$2} /^ +90%/ {p90=$2} /^ +99%/ {p99=$2} END {printf "wrk       p50 %s  p90 %s  p99 %s\n", p50, p90, p99}'
done
