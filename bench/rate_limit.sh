#!/usr/bin/env bash
# The cost of the rate limiter and the request metrics on the hot path (docs/benchmarks.md,
# "Rate limits and metrics"): wrk against GET /api/leads/:id with both off and both on (an API
# rule high enough never to refuse, so every request pays for the decision and the headers,
# and --http-metrics true), alternating A/B, B/A, ... on one seeded database in the same run; the
# median of each side is compared.
#   bash bench/rate_limit.sh          (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
PORT=${PORT:-18950}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
SECRET=bench-secret-bench-secret-bench-secret
dir=$(mktemp -d /tmp/lms-bench-rate-XXXXXX)
server=""
stop() { [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }; }
trap 'stop; rm -rf "$dir"' EXIT
start() {  # RATE_API [HTTP_METRICS]
  "$LMS" serve --http-metrics "${2:-false}" --port "$PORT" --bind 127.0.0.1 --db "$dir/lms.db" --token-secret "$SECRET" --log-requests false \
    --access-ttl 2h --rate-auth off --rate-api "$1" >>"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
start off
read -r token org < <(curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"organizationName":"Bench","name":"Bench","email":"bench@bench.lms","password":"bench-password"}' |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["accessToken"], d["organization"]["id"])')
stop
"$LMS" seed --db "$dir/lms.db" --org "$org" --leads 10000 --agents 2 >/dev/null
start off
curl -sf "http://127.0.0.1:$PORT/api/leads?limit=100" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys; [print(l["id"]) for l in json.load(sys.stdin)["items"]]' >"$dir/ids"
stop

rps() {  # RATE_API HTTP_METRICS -> requests/s
  start "$1" "$2"
  local out
  out=$(TOKEN=$token IDS=$dir/ids wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/get_lead.lua "http://127.0.0.1:$PORT")
  stop
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses with --rate-api $1" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
off=(); on=()
# Odd rounds run "off" first, even rounds "on" first, so a drift of the host's speed during a
# round does not always favour the same side.
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    off+=("$(rps off false)")
    on+=("$(rps 1000000000/15m true)")
  else
    on+=("$(rps 1000000000/15m true)")
    off+=("$(rps off false)")
  fi
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
m_off=$(median "${off[@]}"); m_on=$(median "${on[@]}")
echo "## rate limiter + request metrics A/B, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo "| GET /api/leads/:id, wrk -t2 -c$CONNECTIONS -d$DURATION | runs (requests/s) | median |"
echo "|---|---|---|"
echo "| --rate-api off --http-metrics false | ${off[*]} | $m_off |"
echo "| --rate-api 1000000000/15m --http-metrics true | ${on[*]} | $m_on |"
pairs=""; for i in "${!off[@]}"; do pairs+="$(echo "scale=3; ${on[$i]} / ${off[$i]}" | bc) "; done
echo "on / off by pair: $pairs"
echo "on / off = $(echo "scale=3; $m_on / $m_off" | bc)"
