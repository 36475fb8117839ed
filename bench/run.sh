#!/usr/bin/env bash
# Whole-system HTTP figures for docs/benchmarks.md: wrk against /healthz and /api/auth/me at
# 64 connections, the server's idle memory, and its memory with 10,000 idle keep-alive
# connections. Starts its own server on a fresh database; stops everything it started.
#   bash bench/run.sh            (after `make build`)
set -euo pipefail
# Load from one client address and one user: the rate limits would measure themselves.
export LMS_RATE_API=off LMS_RATE_AUTH=off
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
PORT=${PORT:-18700}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
IDLE=${IDLE:-10000}
dir=$(mktemp -d /tmp/lms-bench-XXXXXX)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$dir/lms.db" --log-requests false --idle-timeout 10m \
  --token-secret "bench-secret-bench-secret-bench-secret" \
  >"$dir/server.log" 2>&1 &
server=$!
hold=""
cleanup() {
  [ -n "$hold" ] && kill "$hold" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
token=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"organizationName":"Bench","name":"Bench","email":"bench@bench.lms","password":"bench-password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

idle_rss=$(rss_kb)
echo "## lms HTTP benchmark $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
REPEAT=${REPEAT:-3}
WRK_THREADS=${WRK_THREADS:-2}
# Runs wrk REPEAT times and reports the median run (by requests/s) and the range: this
# machine is a shared VM whose throughput moves by +-15% from run to run.
run_wrk() {
  local name=$1; shift
  local runs=()
  for _ in $(seq "$REPEAT"); do
    local out
    out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    runs+=("$(awk '/Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="90%" {p90=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$5}
      END {printf "%s %s %s %s %s", rps, p50, p90, p99, (bad == "" ? 0 : bad)}' <<<"$out")")
  done
  local sorted median min max
  sorted=$(printf '%s\n' "${runs[@]}" | sort -n -k1,1)
  median=$(sed -n "$(( (REPEAT + 1) / 2 ))p" <<<"$sorted")
  min=$(head -1 <<<"$sorted" | cut -d' ' -f1)
  max=$(tail -1 <<<"$sorted" | cut -d' ' -f1)
  read -r rps p50 p90 p99 bad <<<"$median"
  echo "| $name | $rps ($min – $max) | $p50 | $p90 | $p99 | $bad |"
}
echo "| endpoint (wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, median of $REPEAT) | requests/s (range) | p50 | p90 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
run_wrk "GET /healthz" "http://127.0.0.1:$PORT/healthz"
run_wrk "GET /api/auth/me" -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/api/auth/me"
if [ "${WITH_LOGS:-1}" = 1 ]; then
  # The same server with one JSON log line per request (the default in production).
  "$LMS" serve --port $((PORT + 1)) --bind 127.0.0.1 --db "$dir/lms.db" --log-requests true \
    --token-secret "bench-secret-bench-secret-bench-secret" >/dev/null 2>&1 &
  logged=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null && break; sleep 0.1; done
  run_wrk "GET /api/auth/me, request log on" -H "Authorization: Bearer $token" "http://127.0.0.1:$((PORT + 1))/api/auth/me"
  kill "$logged"; wait "$logged" 2>/dev/null || true
fi
echo
after_load_rss=$(rss_kb)
python3 bench/hold_connections.py --port "$PORT" --count "$IDLE" --hold 600 >"$dir/hold.log" 2>&1 &
hold=$!
for _ in $(seq 600); do grep -q "answered=" "$dir/hold.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
held=$(cat "$dir/hold.log")
held_rss=$(rss_kb)
echo "| memory | RSS |"
echo "|---|---|"
echo "| idle, after start-up | $((idle_rss / 1024)) MiB |"
echo "| after the wrk runs | $((after_load_rss / 1024)) MiB |"
echo "| with $IDLE idle keep-alive connections ($held) | $((held_rss / 1024)) MiB |"
echo "| per idle connection | $(( (held_rss - after_load_rss) * 1024 / IDLE )) bytes |"
