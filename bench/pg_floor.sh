#!/usr/bin/env bash
# PostgreSQL's floor for a bulk import (docs/benchmarks.md, "PostgreSQL"): how fast PostgreSQL
# alone adds N leads and their `imported` activities to lms's own schema (every index the lead
# API reads through), with no lms code in the loop: psql, one transaction per batch of B rows,
# each a COPY of the batch into a staging table, then INSERT ... SELECT into leads (ON CONFLICT
# DO NOTHING, as an import skips duplicates) and into activities. The rows are the same kind as
# bench/sqlite_floor.sh's: random names, phones, emails and companies, time-ordered ids.
#
#   bash bench/pg_floor.sh                      # N=850000 (the 1M-row benchmark file's inserts)
#   N=200000 BATCHES="5000 10000" bash bench/pg_floor.sh
#   PG_URL=postgres://lms@127.0.0.1:5432/postgres bash bench/pg_floor.sh   # an existing server
# Without PG_URL a private server is started (scripts/pg.sh, durable settings: fsync on) and
# stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
N=${N:-850000}
BATCHES=${BATCHES:-"5000 10000 50000"}
DIR=${DIR:-/tmp/lms-bench-pgfloor}
mkdir -p "$DIR"
own_server=no
if [ -z "${PG_URL:-}" ]; then
  PG_URL=$(bash scripts/pg.sh start "$DIR/pg")
  own_server=yes
fi
trap '[ $own_server = yes ] && bash scripts/pg.sh stop "$DIR/pg" >/dev/null 2>&1 || true' EXIT
db_url() { echo "${PG_URL%/*}/$1"; }

# The rows, once: id, name, phone, email, company (tab-separated, COPY's text format).
ROWS=$DIR/rows-$N.tsv
if [ ! -f "$ROWS" ]; then
  python3 - "$N" >"$ROWS" <<'PY'
import os, random, sys
n = int(sys.argv[1]); r = random.Random(7)
out = sys.stdout
for i in range(n):
    ms = 1700000000000 + i // 5
    uid = "%012x-7%03x-8%03x-%012x" % (ms, i % 4096, r.getrandbits(12), r.getrandbits(48))
    uid = uid[:8] + "-" + uid[8:]
    out.write("%s\t%s %s\t+1%d\t%s@example.com\tCompany %d\n" % (
        uid, os.urandom(6).hex(), os.urandom(5).hex(), 2000000000 + (i * 7919) % 7999999999,
        os.urandom(8).hex(), r.randrange(50000)))
PY
fi
split_dir=$DIR/split
printf '| rows per transaction | seconds | rows/s |\n|---|---|---|\n'
for B in $BATCHES; do
  rm -rf "$split_dir" && mkdir -p "$split_dir"
  split -l "$B" -d -a 6 "$ROWS" "$split_dir/b"
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lms_floor WITH (FORCE)" -c "CREATE DATABASE lms_floor"
  "$LMS" migrate --db "$(db_url lms_floor)" >/dev/null
  ORG=01a00000-0000-7000-8000-000000000001
  {
    echo "CREATE UNLOGGED TABLE staging (id text, name text, phone text, email text, company text);"
    for f in "$split_dir"/b*; do
      echo "BEGIN;"
      echo "TRUNCATE staging;"
      echo "\\copy staging FROM '$f'"
      echo "INSERT INTO leads (id, org, name, phone, email, company, source, status, tags, custom, version,
              created_at, updated_at, created_by, import_id)
            SELECT id, '$ORG', name, phone, email, company, 'import', 'new', '{}', '{}', 1,
                   1700000000000, 1700000000000, 'user', 'job' FROM staging ON CONFLICT DO NOTHING;"
      echo "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at)
            SELECT id, '$ORG', id, 'imported', 'user', '{\"importId\":\"job\"}', 1700000000000 FROM staging;"
      echo "COMMIT;"
    done
  } >"$DIR/floor.sql"
  t0=$(date +%s.%N)
  psql -q -v ON_ERROR_STOP=1 "$(db_url lms_floor)" -f "$DIR/floor.sql" >/dev/null
  t1=$(date +%s.%N)
  got=$(psql -Atq "$(db_url lms_floor)" -c "SELECT count(*) FROM leads")
  [ "$got" = "$N" ] || { echo "expected $N leads, found $got" >&2; exit 1; }
  wall=$(echo "$t1 - $t0" | bc -l)
  printf '| %s | %.2f | %.0f |\n' "$B" "$wall" "$(echo "$N / $wall" | bc -l)"
done
psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lms_floor WITH (FORCE)"
