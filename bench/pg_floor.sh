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
#
# STEPS measures, in one run, on the same rows and at each size of BATCHES (default 5000 with
# STEPS), the design steps by which the floor can be lifted, each cumulative on the one before:
#   base              lms's schema (`lms migrate`), one `imported` activity row per lead
#   no-activity-rows  as base, but no activity row per lead: one timeline entry per import job,
#                     stored once (one activity row in the job's first batch)
#   pruned            as no-activity-rows, minus the indexes no read path needs (PRUNE, default
#                     leads_by_import: a revert finds the job's leads through leads_by_created,
#                     in the job's created_at window)
#   pruned-status     as pruned, minus leads_by_status too: what that index costs the floor (not
#                     recommended: a count by status becomes a Seq Scan of the table)
#   id-key            as pruned, with the time-ordered id as the primary key, no seq column, and
#                     the sort indexes ending in id: (org, created_at, id) ...
#   id-key-short      as id-key, but the sort indexes without a tie-breaker: (org, created_at) ...
#                     (ties ordered by id through an Incremental Sort)
#   parallel-2        two psql connections writing alternate batches at once, on the schema of
#                     the fastest step measured before it in this run, pruned-status excepted
#                     (parallel-2@STEP names the schema instead)
#   STEPS="base no-activity-rows pruned pruned-status id-key id-key-short parallel-2" bash bench/pg_floor.sh
# In STEPS mode created_at/updated_at are one time per batch, a second apart (lms's import stamps
# a batch's rows with one `now`), not one constant for the whole run, so that the time-keyed
# indexes see an import's ties and no more; every step starts on a new database after a CHECKPOINT. The table gives each step's WAL, its database
# size afterwards, and the load average before and after it (the host may be busy).
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
N=${N:-850000}
STEPS=${STEPS:-}
if [ -n "$STEPS" ]; then BATCHES=${BATCHES:-5000}; else BATCHES=${BATCHES:-"5000 10000 50000"}; fi
PRUNE=${PRUNE:-leads_by_import}
DIR=${DIR:-/tmp/lms-bench-pgfloor}
mkdir -p "$DIR"
own_server=no
if [ -z "${PG_URL:-}" ]; then
  PG_URL=$(bash scripts/pg.sh start "$DIR/pg")
  own_server=yes
fi
trap '[ $own_server = yes ] && bash scripts/pg.sh stop "$DIR/pg" >/dev/null 2>&1 || true' EXIT
db_url() { echo "${PG_URL%/*}/$1"; }
ORG=01a00000-0000-7000-8000-000000000001

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

# ---- the schemas of the steps ----

# Leads and activities keyed by the time-ordered id (no seq); $1 = long (sort indexes end in
# id) or short (no tie-breaker column). Replaces the tables lms migrate made.
id_key_schema() {
  local t=", id"
  [ "$1" = short ] && t=""
  cat <<SQL
DROP TABLE leads, activities;
CREATE TABLE leads (
  id          text COLLATE "C" PRIMARY KEY,
  org         text COLLATE "C" NOT NULL,
  name        text COLLATE "C" NOT NULL,
  phone       text COLLATE "C",
  email       text COLLATE "C",
  company     text,
  source      text COLLATE "C",
  status      text COLLATE "C" NOT NULL,
  assigned_to text COLLATE "C",
  tags        text[] COLLATE "C" NOT NULL DEFAULT '{}',
  custom      text NOT NULL DEFAULT '{}',
  version     bigint NOT NULL,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  created_by  text,
  import_id   text COLLATE "C",
  search_doc  text GENERATED ALWAYS AS (
                lower((name || ' ' || coalesce(email, '') || ' ' || coalesce(company, '') || ' ' ||
                       coalesce(substr(phone, 2), '')) COLLATE "und-x-icu")) STORED
);
CREATE UNIQUE INDEX leads_by_phone ON leads (org, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX leads_by_email ON leads (org, email) WHERE email IS NOT NULL;
CREATE INDEX leads_by_created ON leads (org, created_at$t);
CREATE INDEX leads_by_updated ON leads (org, updated_at$t);
CREATE INDEX leads_by_name ON leads (org, name$t);
CREATE INDEX leads_by_assignee ON leads (org, assigned_to, created_at$t);
CREATE INDEX leads_by_status ON leads (org, status, created_at$t);
CREATE INDEX leads_by_tags ON leads USING gin (tags);
CREATE INDEX leads_search ON leads USING gin (search_doc gin_trgm_ops);
CREATE TABLE activities (
  id         text COLLATE "C" PRIMARY KEY,
  org        text COLLATE "C" NOT NULL,
  lead_id    text COLLATE "C" NOT NULL,
  type       text NOT NULL,
  actor_id   text,
  data       text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX activities_by_lead ON activities (lead_id, id);
SQL
}

# The step's schema on a new database $1; $2 = the step.
make_schema() {
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  "$LMS" migrate --db "$(db_url "$1")" >/dev/null
  local ddl=""
  case "$2" in
    base | no-activity-rows) ;;
    pruned) for i in $PRUNE; do ddl+="DROP INDEX $i;"$'\n'; done ;;
    pruned-status) for i in $PRUNE leads_by_status; do ddl+="DROP INDEX $i;"$'\n'; done ;;
    id-key) ddl=$(id_key_schema long) ;;
    id-key-short) ddl=$(id_key_schema short) ;;
    *) echo "pg_floor.sh: unknown step '$2'" >&2; exit 2 ;;
  esac
  [ -z "$ddl" ] || psql -q -v ON_ERROR_STOP=1 "$(db_url "$1")" -c "$ddl" >/dev/null
}

# The batch script of worker $1 of $2 (batches $1, $1+$2, ...) for a schema: $3 = times
# (const: every row at 1700000000000, as before STEPS; batch: one time per batch), $4 = activity
# rows (per-lead | per-job).
batch_sql() {
  local k=$1 of=$2 times=$3 acts=$4 n=0 at=1700000000000
  echo "CREATE UNLOGGED TABLE staging_$k (id text, name text, phone text, email text, company text);"
  for f in "$split_dir"/b*; do
    if [ $((n++ % of)) -ne "$k" ]; then continue; fi
    [ "$times" = const ] || at=$((1700000000000 + n * 1000))
    echo "BEGIN;"
    echo "TRUNCATE staging_$k;"
    echo "\\copy staging_$k FROM '$f'"
    echo "INSERT INTO leads (id, org, name, phone, email, company, source, status, tags, custom, version,
            created_at, updated_at, created_by, import_id)
          SELECT id, '$ORG', name, phone, email, company, 'import', 'new', '{}', '{}', 1,
                 $at, $at, 'user', 'job' FROM staging_$k ON CONFLICT DO NOTHING;"
    if [ "$acts" = per-lead ]; then
      echo "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at)
            SELECT id, '$ORG', id, 'imported', 'user', '{\"importId\":\"job\"}', $at FROM staging_$k;"
    elif [ "$n" = 1 ]; then
      echo "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at)
            VALUES ('job', '$ORG', 'import:job', 'imported', 'user', '{\"importId\":\"job\"}', 1700000000000);"
    fi
    echo "COMMIT;"
  done
  echo "DROP TABLE staging_$k;"
}

wal_lsn() { psql -Atq "$PG_URL" -c "SELECT pg_current_wal_lsn()"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# Runs one measurement on database lms_floor: $1 = schema step, $2 = connections, $3 = times,
# $4 = activity rows. Leaves "seconds WAL-MB DB-MB" in $DIR/measured.
measure() {
  local db=lms_floor k pids=()
  make_schema $db "$1"
  for ((k = 0; k < $2; k++)); do batch_sql $k "$2" "$3" "$4" >"$DIR/floor-$k.sql"; done
  psql -q "$PG_URL" -c "CHECKPOINT"
  local lsn0 t0 t1 lsn1
  lsn0=$(wal_lsn)
  t0=$(date +%s.%N)
  for ((k = 0; k < $2; k++)); do
    psql -q -v ON_ERROR_STOP=1 "$(db_url $db)" -f "$DIR/floor-$k.sql" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  lsn1=$(wal_lsn)
  local got
  got=$(psql -Atq "$(db_url $db)" -c "SELECT count(*) FROM leads")
  [ "$got" = "$N" ] || { echo "expected $N leads, found $got" >&2; exit 1; }
  psql -Atq "$PG_URL" -c "SELECT $t1 - $t0, round(pg_wal_lsn_diff('$lsn1', '$lsn0') / 1048576.0),
                                 round(pg_database_size('$db') / 1048576.0)" | tr '|' ' ' >"$DIR/measured"
}

if [ -z "$STEPS" ]; then
  printf '| rows per transaction | seconds | rows/s |\n|---|---|---|\n'
  for B in $BATCHES; do
    rm -rf "$split_dir" && mkdir -p "$split_dir"
    split -l "$B" -d -a 6 "$ROWS" "$split_dir/b"
    measure base 1 const per-lead
    read -r wall _ _ <"$DIR/measured"
    printf '| %s | %.2f | %.0f |\n' "$B" "$wall" "$(echo "$N / $wall" | bc -l)"
  done
else
  echo "N=$N, PostgreSQL $(psql -Atq "$PG_URL" -c 'SHOW server_version'), $(nproc) cores, $(date -u '+%F %H:%M UTC')"
  printf '| step | schema | rows per transaction | seconds | rows/s | / base | WAL MB | database MB | load before → after |\n'
  printf '|---|---|---|---|---|---|---|---|---|\n'
  for B in $BATCHES; do
    rm -rf "$split_dir" && mkdir -p "$split_dir"
    split -l "$B" -d -a 6 "$ROWS" "$split_dir/b"
    base_rate="" best="" best_rate=0
    for step in $STEPS; do
      schema=$step conns=1 acts=per-job
      case "$step" in
        base) acts=per-lead ;;
        parallel-2@*) schema=${step#parallel-2@}; conns=2 ;;
        parallel-2) schema=${best:-base}; conns=2 ;;
      esac
      [ "$schema" = base ] && [ "$step" != base ] && acts=per-lead
      l0=$(load)
      measure "$schema" $conns batch $acts
      read -r wall wal size <"$DIR/measured"
      l1=$(load)
      rate=$(echo "$N / $wall" | bc -l)
      [ -n "$base_rate" ] || [ "$step" != base ] || base_rate=$rate
      ratio="–"
      [ -z "$base_rate" ] || ratio=$(printf '%.2f×' "$(echo "$rate / $base_rate" | bc -l)")
      if [ $conns = 1 ] && [ "$schema" != pruned-status ] && [ "$(echo "$rate > $best_rate" | bc -l)" = 1 ]; then
        best=$schema best_rate=$rate
      fi
      printf '| %s | %s | %s | %.2f | %.0f | %s | %s | %s | %s → %s |\n' "$step" "$schema" "$B" "$wall" "$rate" \
        "$ratio" "$wal" "$size" "$l0" "$l1"
    done
  done
fi
psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lms_floor WITH (FORCE)"
