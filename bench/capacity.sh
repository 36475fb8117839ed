#!/usr/bin/env bash
# The standard capacity run that produces docs/capacity.md: lms on SQLite with 1,000,000
# leads seeded (one large organization), the default scenario (teams of 50, one organization
# each, about 100 requests per user per 15 minutes, a Socket.IO connection per user), stepped
# up to what the descriptor limit allows, with lms-load on the same machine.
#   bash bench/capacity.sh                      (after `make build`)
#   USERS=100,1000 HOLD=10s bash bench/capacity.sh    (a shorter run)
# Everything it starts runs on 127.0.0.1 and is stopped at the end; the database is temporary.
# ENGINE=postgres runs lms on PostgreSQL: a fresh database on PG_URL's server (or a private
# one, scripts/pg.sh), copied from the template database BASE when given (e.g. bench/leads.sh's
# lms_bench_pristine_1000000: its leads are the seeded background, so no seeding here).
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
LOAD=${LOAD:-build/lms-load}
PORT=${PORT:-18900}
LEADS=${LEADS:-1000000}
ACCOUNTS=${ACCOUNTS:-2000}
USERS=${USERS:-100,1000,2500,5000,7500,9500}
HOLD=${HOLD:-30s}
RAMP=${RAMP:-20s}
WORKERS=${WORKERS:-2}
OUT=${OUT:-docs/capacity-run}
dir=$(mktemp -d /tmp/lms-capacity-XXXXXX)
ulimit -n "$(ulimit -Hn)"
url="http://127.0.0.1:$PORT"

ENGINE=${ENGINE:-sqlite}
BASE=${BASE:-}
DB=$dir/lms.db
if [ "$ENGINE" = postgres ]; then
  if [ -z "${PG_URL:-}" ]; then
    chmod 755 "$dir"  # PostgreSQL runs as its own user, which must reach $dir/pg
    PG_URL=$(bash scripts/pg.sh start "$dir/pg")
    STOP_PG="bash scripts/pg.sh stop $dir/pg"
  fi
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lms_capacity WITH (FORCE)" \
    -c "CREATE DATABASE lms_capacity${BASE:+ TEMPLATE $BASE}" >/dev/null
  DB=${PG_URL%/*}/lms_capacity
fi

server=""
start_server() {
  # Set-up signs in thousands of accounts from one address: the per-address auth limit is off.
  # The per-user API limit stays at its default: the run must not exceed it (lms-load warns).
  LMS_RATE_AUTH=off "$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$DB" --log-requests false \
    --spool-dir "$dir/spool" --token-secret "capacity-secret-capacity-secret-capacity" >>"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && return; sleep 0.1; done
  echo "capacity: the server did not start" >&2
  exit 1
}
stop_server() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  server=""
}
trap 'stop_server; ${STOP_PG:-true} >/dev/null 2>&1; rm -rf "$dir"' EXIT

if [ -z "$BASE" ]; then
start_server
org=$(curl -sf -X POST "$url/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"organizationName":"Seeded","name":"Seed Admin","email":"seed@capacity.test","password":"seed-password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["organization"]["id"])')
stop_server
echo "capacity: seeding $LEADS leads"
"$LMS" seed --db "$DB" --org "$org" --leads "$LEADS" --agents 20 >"$dir/seed.log" 2>&1
fi
start_server
echo "capacity: setting up $ACCOUNTS accounts"
"$LOAD" setup --url "$url" --accounts "$ACCOUNTS" --state "$dir/state.json"
"$LOAD" capacity --url "$url" --state "$dir/state.json" --users "$USERS" --hold "$HOLD" --ramp "$RAMP" \
  --workers "$WORKERS" --out "$OUT"
echo "capacity: server log warnings:"
grep -E '"level":"(warn|error)"' "$dir/server.log" | head -20 || true
