#!/usr/bin/env bash
# The cost of the rate limiter and the request metrics on the hot path (docs/benchmarks.md,
# "Rate limits and metrics"): wrk against GET /api/leads/:id with both off and both on (an API
# rule high enough never to refuse, so every request pays for the decision and the headers,
# and --http-metrics true), two servers side by side, measured in adjacent turns; the median of
# the per-pair ratios is the figure.
#   bash bench/rate_limit.sh          (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
PORT=${PORT:-18950}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-20}
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

# Both servers run side by side on copies of the database, warmed up, and are measured in short
# adjacent turns (A B, B A, A B, ...): a pair's two turns see the same host, so the ratio of each
# pair cancels the drift of a shared VM, which between separate 8 s runs reaches +-20% here.
# The idle server costs nothing meanwhile (a 100 ms lag-probe timer per thread).
cp "$dir/lms.db" "$dir/on.db"
# PIN=1: each server on core 0 with one I/O thread, wrk on core 1 with one thread, so the two
# never compete for a core (less noise, lower absolute figures).
PIN=${PIN:-0}
server_cpu=(); client_cpu=(); server_threads=(); wrk_threads=(-t2)
if [ "$PIN" = 1 ]; then server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); server_threads=(--threads 1); wrk_threads=(-t1); fi
# OFF_*/ON_* change a side's settings or binary (ON_RATE=off ON_METRICS=false: an A/A run that
# shows the method's own resolution; LMS_OFF=old/lms LMS_ON=build/lms OFF_RATE=... compares builds).
LMS_OFF=${LMS_OFF:-$LMS}; LMS_ON=${LMS_ON:-$LMS}
start_at() {  # BINARY PORT DB RATE_API HTTP_METRICS -> pid
  local binary=$1; shift
  "${server_cpu[@]}" "$binary" serve "${server_threads[@]}" --http-metrics "$4" --port "$1" --bind 127.0.0.1 --db "$2" --token-secret "$SECRET" --log-requests false \
    --access-ttl 2h --rate-auth off --rate-api "$3" >>"$dir/server.log" 2>&1 &
  echo $!
}
off_pid=$(start_at "$LMS_OFF" "$PORT" "$dir/lms.db" "${OFF_RATE:-off}" "${OFF_METRICS:-false}")
on_pid=$(start_at "$LMS_ON" "$((PORT + 1))" "$dir/on.db" "${ON_RATE:-1000000000/15m}" "${ON_METRICS:-true}")
trap 'kill $off_pid $on_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
for p in "$PORT" "$((PORT + 1))"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
# One turn against PORT (server PID): prints "requests/s server-CPU-microseconds-per-request".
turn() {
  local out before after requests
  before=$(cpu_ticks "$2")
  out=$(TOKEN=$token IDS=$dir/ids "${client_cpu[@]}" wrk "${wrk_threads[@]}" -c"$CONNECTIONS" -d"$DURATION" -s bench/get_lead.lua "http://127.0.0.1:$1")
  after=$(cpu_ticks "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx responses on port $1" >&2; exit 1; fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(echo "scale=2; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $requests" | bc)"
}
turn "$PORT" "$off_pid" >/dev/null; turn "$((PORT + 1))" "$on_pid" >/dev/null  # warm-up
off=(); on=(); off_cpu=(); on_cpu=()
measure() {  # off|on
  local r
  if [ "$1" = off ]; then r=($(turn "$PORT" "$off_pid")); off+=("${r[0]}"); off_cpu+=("${r[1]}")
  else r=($(turn "$((PORT + 1))" "$on_pid")); on+=("${r[0]}"); on_cpu+=("${r[1]}"); fi
}
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then measure off; measure on; else measure on; measure off; fi
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
m_off=$(median "${off[@]}"); m_on=$(median "${on[@]}")
c_off=$(median "${off_cpu[@]}"); c_on=$(median "${on_cpu[@]}")
ratios=(); cpu_ratios=()
for i in "${!off[@]}"; do
  ratios+=("$(echo "scale=4; ${on[$i]} / ${off[$i]}" | bc)")
  cpu_ratios+=("$(echo "scale=4; ${on_cpu[$i]} / ${off_cpu[$i]}" | bc)")
done
quartiles() { local s=($(printf '%s\n' "$@" | sort -n)); echo "${s[$(( $# / 4 ))]} .. ${s[$(( (3 * $#) / 4 ))]}"; }
echo "## rate limiter + request metrics A/B, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo "| GET /api/leads/:id, wrk ${wrk_threads[*]} -c$CONNECTIONS -d$DURATION, $ROUNDS adjacent pairs, PIN=$PIN | median requests/s | median server CPU per request |"
echo "|---|---|---|"
echo "| off: $LMS_OFF --rate-api ${OFF_RATE:-off} --http-metrics ${OFF_METRICS:-false} | $m_off | $c_off µs |"
echo "| on: $LMS_ON --rate-api ${ON_RATE:-1000000000/15m} --http-metrics ${ON_METRICS:-true} | $m_on | $c_on µs |"
echo "on / off requests/s by pair: ${ratios[*]}"
echo "on / off CPU per request by pair: ${cpu_ratios[*]}"
echo "on / off requests/s, median of pairs: $(median "${ratios[@]}")  (quartiles $(quartiles "${ratios[@]}"))"
echo "on / off CPU per request, median of pairs: $(median "${cpu_ratios[@]}")  (quartiles $(quartiles "${cpu_ratios[@]}"))"
