#!/usr/bin/env bash
# Lead figures: seeds (once, cached in $DIR/pristine.db) an organization with $LEADS leads over
# 50 agents, starts lms on a fresh copy of it (so leads created by an earlier run do not skew
# this one) and runs bench/leads.py. Example: LEADS=1000000 bash bench/leads.sh
# ONLY=search,export runs some sections only (get, pages, search, create, export).
# ENGINE=postgres runs it on PostgreSQL (below). SEED_ONLY=1 stops after seeding; IN_PLACE=1 runs on
# the seeded database itself instead of a fresh copy (for 10M leads, where a copy would not fit
# the disk beside the other engine's: the run's creates then stay in it).
set -euo pipefail
# Load from one client address and one user: the rate limits would measure themselves.
export LMS_RATE_API=off LMS_RATE_AUTH=off
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
LEADS=${LEADS:-1000000}
DIR=${DIR:-/tmp/lms-bench-leads-$LEADS}
PORT=${PORT:-18800}
ORG=01a00000-0000-7000-8000-000000000001
# ENGINE=postgres: the same on PostgreSQL: a private server (scripts/pg.sh, durable settings)
# under $DIR/pg unless PG_URL names one; the seeded organization is kept as a template
# database and each run gets a fresh copy of it (CREATE DATABASE ... TEMPLATE).
ENGINE=${ENGINE:-sqlite}
if [ "$ENGINE" = postgres ]; then
  DIR=${DIR%/}-pg
  mkdir -p "$DIR"
  if [ -z "${PG_URL:-}" ]; then
    PG_URL=$(bash scripts/pg.sh start "$DIR/pg")
    STOP_PG="bash scripts/pg.sh stop $DIR/pg"
  fi
  db_url() { echo "${PG_URL%/*}/$1"; }
  PRISTINE=lms_bench_pristine_$LEADS
  if [ ! -f "$DIR/seeded" ]; then
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PRISTINE WITH (FORCE)" -c "CREATE DATABASE $PRISTINE"
    "$LMS" migrate --db "$(db_url $PRISTINE)" >/dev/null
    psql -q "$(db_url $PRISTINE)" -c "INSERT INTO organizations (id, name, default_country, created_at) VALUES ('$ORG', 'Bench', 'US', 0)"
    "$LMS" user create --db "$(db_url $PRISTINE)" --org "$ORG" --email admin@bench.lms --role admin --password bench-password
    /usr/bin/time -v "$LMS" seed --db "$(db_url $PRISTINE)" --org "$ORG" --leads "$LEADS" --agents 50 2>"$DIR/seed.time" | tee "$DIR/seed.log"
    grep -E "Maximum resident|Elapsed" "$DIR/seed.time" || true
    psql -q "$(db_url $PRISTINE)" -c "VACUUM ANALYZE"
    touch "$DIR/seeded"
  fi
  [ -z "${SEED_ONLY:-}" ] || exit 0
  RUN_DB=lms_bench_run
  if [ -n "${IN_PLACE:-}" ]; then
    RUN_DB=$PRISTINE
  else
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lms_bench_run WITH (FORCE)" -c "CREATE DATABASE lms_bench_run TEMPLATE $PRISTINE"
  fi
  psql -Atq "$(db_url $RUN_DB)" -c "SELECT pg_size_pretty(pg_database_size('$RUN_DB'))"
  DB=$(db_url $RUN_DB)
else
  if [ ! -f "$DIR/seeded" ]; then
    rm -rf "$DIR" && mkdir -p "$DIR"
    "$LMS" migrate --db "$DIR/pristine.db" >/dev/null
    sqlite3 "$DIR/pristine.db" "INSERT INTO organizations (id, name, default_country, created_at) VALUES ('$ORG', 'Bench', 'US', 0)"
    "$LMS" user create --db "$DIR/pristine.db" --org "$ORG" --email admin@bench.lms --role admin --password bench-password
    /usr/bin/time -v "$LMS" seed --db "$DIR/pristine.db" --org "$ORG" --leads "$LEADS" --agents 50 2>"$DIR/seed.time" | tee "$DIR/seed.log"
    grep -E "Maximum resident" "$DIR/seed.time" || true
    touch "$DIR/seeded"
  fi
  [ -z "${SEED_ONLY:-}" ] || exit 0
  if [ -n "${IN_PLACE:-}" ]; then
    DB=$DIR/pristine.db
  else
    rm -f "$DIR/lms.db" "$DIR/lms.db-wal" "$DIR/lms.db-shm"
    cp "$DIR/pristine.db" "$DIR/lms.db"
    DB=$DIR/lms.db
  fi
  du -sh "$DB"
fi
"$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$DB" --token-secret bench-secret-bench-secret-bench-secret \
  --spool-dir "$DIR/spool" >"$DIR/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; ${STOP_PG:-true} >/dev/null 2>&1' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
python3 bench/leads.py --port "$PORT" --email admin@bench.lms --password bench-password --log "$DIR/server.log" \
  --pid "$server" --duration "${DURATION:-10s}" --only "${ONLY:-get,pages,search,create,export}"
