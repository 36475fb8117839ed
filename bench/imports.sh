#!/usr/bin/env bash
# CSV import figures (docs/benchmarks.md, "CSV imports"):
#   parts    the reader alone (MB/s) and phone normalization alone (numbers/s), by
#            bench/micro/import_parts.cpp, built here with g++ (no CMake needed);
#   import   end to end through the HTTP API on a fresh database: curl uploads the file
#            (text/csv), then GET /api/imports/:id is polled until `completed`; rows/s, the
#            job's counts against the generator's, the server's peak memory (VmHWM, and
#            RssAnon/RssFile sampled every 0.2 s) and CPU time;
#   latency  p95 of GET /api/leads?limit=50 from 50 clients (wrk -t2 -c50) on a database with
#            $SEED_LEADS seeded leads, first without an import, then during one (same duration);
#   cli      the same file through `lms import` (the pipeline without HTTP), with /usr/bin/time.
# The CSV ($ROWS rows, bench/gen_leads_csv.py, seed $SEED) is generated once into $CACHE.
#
#   bash bench/imports.sh                    # 1,000,000 rows (~100 MB), every part
#   ROWS=100000 ONLY=parts,import bash bench/imports.sh
# Results: a table on stdout, and $CACHE/run-<time>/results.{md,env} with the raw outputs.
set -euo pipefail
# Load from one client address and one user: the rate limits would measure themselves.
export LMS_RATE_API=off LMS_RATE_AUTH=off
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
ROWS=${ROWS:-1000000}
SEED=${SEED:-42}
CACHE=${CACHE:-/tmp/lms-bench-imports}
PORT=${PORT:-18900}
SEED_LEADS=${SEED_LEADS:-100000}
BATCH_ROWS=${BATCH_ROWS:-10000}         # --import-batch-rows (the server's default)
WRK_DURATION=${WRK_DURATION:-}          # default: the import's time in this run, within 5..60 s
ONLY=${ONLY:-parts,import,latency,cli}
NICE=${NICE:-}                          # e.g. NICE="nice -n 19" while the machine is shared
SECRET=bench-secret-bench-secret-bench-secret
CSV=$CACHE/leads-$ROWS-seed$SEED.csv
mkdir -p "$CACHE"
RUN=$CACHE/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
want() { [[ ",$ONLY," == *",$1,"* ]]; }
now() { date +%s.%N; }
secs() { printf '%.2f' "$(echo "scale=4; $1" | bc)"; }  # secs "T1 - T0"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
# A stable copy of the binary: a rebuild during the run must not change what is measured.
LMS_BUILT=$(date -u -r "$LMS" +%Y-%m-%dT%H:%M:%SZ)
cp "$LMS" "$RUN/lms"
LMS=$RUN/lms

# ---- the file ----
if [ ! -f "$CSV" ] || [ ! -f "$CSV.expected.json" ]; then
  log "generating $CSV ($ROWS rows, seed $SEED)"
  t0=$(now)
  nice -n 19 python3 bench/gen_leads_csv.py --rows "$ROWS" --seed "$SEED" --out "$CSV"
  log "generated in $(secs "$(now) - $t0") s"
fi
expected() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$CSV.expected.json" "$1"; }
BYTES=$(stat -c %s "$CSV")
MB=$(echo "scale=1; $BYTES / 1000000" | bc)

declare -A R   # results, written to results.env
R[date]=$(date -u +%Y-%m-%dT%H:%M:%SZ)
R[commit]=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
R[dirty_files]=$(git status --porcelain 2>/dev/null | wc -l)
R[binary_mtime]=$LMS_BUILT
R[nproc]=$(nproc)
R[cpu]=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
R[mem]=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
R[load_before]=$(cut -d' ' -f1-3 /proc/loadavg)
R[rows]=$ROWS
R[file_bytes]=$BYTES

# ---- the engine ----
# ENGINE=postgres: each database below is a fresh PostgreSQL database on a private server
# (scripts/pg.sh under $CACHE/pg, durable settings) or on PG_URL. BASE (import part only)
# starts the import on a copy of an already filled database, so the cost of a growing table
# shows: a SQLite file to copy, or a PostgreSQL template database (bench/leads.sh's
# lms_bench_pristine_<N>, its leads in another organization: they share every index).
ENGINE=${ENGINE:-sqlite}
BASE=${BASE:-}
R[engine]=$ENGINE
R[base]=${BASE:-none}
if [ "$ENGINE" = postgres ]; then
  if [ -z "${PG_URL:-}" ]; then
    PG_URL=$(bash scripts/pg.sh start "$CACHE/pg")
    STOP_PG="bash scripts/pg.sh stop $CACHE/pg"
  fi
fi
# BASE_IN_PLACE=1: the import runs on BASE itself, not a copy (10M leads: a copy would not fit the
# disk beside the other engine's); BASE keeps the imported rows then.
fresh_db() {  # DIR NAME [BASE]: prints what --db takes
  if [ -n "${BASE_IN_PLACE:-}" ] && [ -n "${3:-}" ]; then
    if [ "$ENGINE" = postgres ]; then echo "${PG_URL%/*}/$3"; else echo "$3"; fi
    return
  fi
  if [ "$ENGINE" = postgres ]; then
    local name=lms_bench_$2
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
      -c "CREATE DATABASE $name${3:+ TEMPLATE $3}" >/dev/null
    echo "${PG_URL%/*}/$name"
  else
    [ -z "${3:-}" ] || cp "$3" "$1/lms.db"
    echo "$1/lms.db"
  fi
}
db_bytes() {  # DB
  if [ "$ENGINE" = postgres ]; then
    psql -Atq "$1" -c "SELECT pg_database_size(current_database())"
  else
    du -cb "$1"* | tail -1 | cut -f1
  fi
}

# ---- server helpers ----
server=""
sampler=""
stop_server() {
  [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""; }
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
trap 'stop_server; ${STOP_PG:-true} >/dev/null 2>&1' EXIT
start_server() {  # DB LOG
  $NICE "$LMS" serve --port "$PORT" --bind 127.0.0.1 --db "$1" --token-secret "$SECRET" --log-requests false \
    --spool-dir "$(dirname "$2")/spool" \
    --access-ttl 6h --import-max-size 4GB --import-batch-rows "$BATCH_ROWS" >"$2" 2>&1 &
  server=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.05; done
  echo "server did not start; see $2" >&2
  exit 1
}
register() {  # prints "token org_id"
  curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/register" -H 'Content-Type: application/json' \
    -d '{"organizationName":"Bench","name":"Bench","email":"bench@bench.lms","password":"bench-password","defaultCountry":"US"}' |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["accessToken"], d["organization"]["id"])'
}
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# Samples the server's memory every 0.2 s: time VmRSS RssAnon RssFile VmHWM (KiB).
start_sampler() {
  (while kill -0 "$server" 2>/dev/null; do
     awk -v t="$(date +%s.%N)" '/^(VmRSS|RssAnon|RssFile|VmHWM):/ {v[$1]=$2}
       END {print t, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"]}' "/proc/$server/status" 2>/dev/null || true
     sleep 0.2
   done) >"$1" &
  sampler=$!
}
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get(sys.argv[1]))' "$1"; }
# Uploads the CSV; prints the job id. Writes curl's timing to $1.
upload() {
  curl -sS -o "$1.body" -w '%{http_code} %{time_total} %{size_upload}\n' -X POST \
    "http://127.0.0.1:$PORT/api/imports?fileName=leads.csv" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: text/csv' --data-binary @"$CSV" >"$1"
  read -r code _ _ <"$1"
  if [ "$code" != 202 ]; then echo "upload answered $code: $(cat "$1.body")" >&2; exit 1; fi
  json_field id <"$1.body"
}
# Polls the job every 0.1 s until it is completed or failed; prints the final job JSON.
wait_job() {
  local job
  while :; do
    job=$(curl -sf "http://127.0.0.1:$PORT/api/imports/$1" -H "Authorization: Bearer $TOKEN")
    case $(json_field state <<<"$job") in completed|failed) break ;; esac
    sleep 0.1
  done
  echo "$job"
}

# ---- parts: reader and phone normalization alone ----
if want parts; then
  BIN=$CACHE/import_parts
  SOURCES="bench/micro/import_parts.cpp src/imports/csv_reader.cpp src/imports/header_mapping.cpp src/leads/phone.cpp src/common/validate.cpp"
  rebuild=0
  [ -x "$BIN" ] || rebuild=1
  for s in $SOURCES src/imports/csv_reader.h src/imports/header_mapping.h src/leads/phone.h; do
    [ "$s" -nt "$BIN" ] && rebuild=1
  done
  if [ "$rebuild" = 1 ]; then
    log "building $BIN"
    # shellcheck disable=SC2086
    nice -n 19 g++ -std=c++20 -O3 -DNDEBUG -include utility -Isrc $SOURCES -lphonenumber -lpthread -o "$BIN"
  fi
  log "parts: $BIN $CSV"
  $NICE "$BIN" "$CSV" --region US --repeat 3 --threads 2 | tee "$RUN/parts.txt" >&2
  while read -r _ key value; do R[parts_$key]=$value; done < <(grep '^RESULT' "$RUN/parts.txt")
fi

# ---- import: end to end on a fresh database ----
if want import; then
  mkdir -p "$RUN/import"
  IMPORT_DB=$(fresh_db "$RUN/import" import "$BASE")
  start_server "$IMPORT_DB" "$RUN/import/server.log"
  read -r TOKEN ORG < <(register)
  R[import_hwm_before_kb]=$(status_kb VmHWM)
  start_sampler "$RUN/import/memory.txt"
  cpu0=$(cpu_ticks)
  log "import: uploading $CSV ($MB MB) to a fresh database"
  t0=$(now)
  JOB=$(upload "$RUN/import/upload.txt")
  t_up=$(now)
  job=$(wait_job "$JOB")
  t1=$(now)
  cpu1=$(cpu_ticks)
  sleep 0.3
  echo "$job" >"$RUN/import/job.json"
  R[import_hwm_kb]=$(status_kb VmHWM)
  R[import_rss_after_kb]=$(status_kb VmRSS)
  stop_server
  R[import_state]=$(json_field state <"$RUN/import/job.json")
  for k in totalRows processedRows inserted updated duplicates invalid; do R[import_$k]=$(json_field $k <"$RUN/import/job.json"); done
  R[import_upload_s]=$(awk '{print $2}' "$RUN/import/upload.txt")
  R[import_202_s]=$(secs "$t_up - $t0")
  R[import_total_s]=$(secs "$t1 - $t0")
  R[import_rows_s]=$(echo "$ROWS / ${R[import_total_s]}" | bc)
  # Server-side processing (startedAt → finishedAt, millisecond timestamps in the job).
  R[import_job_s]=$(python3 -c '
import json,sys,datetime
j=json.load(open(sys.argv[1]))
p=lambda s: datetime.datetime.fromisoformat(s.replace("Z","+00:00"))
print("%.2f" % (p(j["finishedAt"])-p(j["startedAt"])).total_seconds())' "$RUN/import/job.json")
  R[import_cpu_s]=$(echo "scale=2; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)
  R[import_peak_anon_kb]=$(awk 'BEGIN {m=0} $3 > m {m=$3} END {print m}' "$RUN/import/memory.txt")
  R[import_peak_file_kb]=$(awk 'BEGIN {m=0} $4 > m {m=$4} END {print m}' "$RUN/import/memory.txt")
  R[import_db_bytes]=$(db_bytes "$IMPORT_DB")
  for k in inserted duplicates invalid; do R[expected_$k]=$(expected $k); done
  log "import: ${R[import_state]} in ${R[import_total_s]} s, ${R[import_rows_s]} rows/s"
fi

# ---- latency: GET /api/leads?limit=50 without and during an import ----
LUA=$CACHE/list_leads.lua
cat >"$LUA" <<'EOF'
-- wrk script (written by bench/imports.sh): GET $LIST_PATH with the bearer token in $TOKEN;
-- prints the percentiles wrk --latency does not (p95) in a line the script parses.
local token = os.getenv("TOKEN")
local path = os.getenv("LIST_PATH") or "/api/leads?limit=50"
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p90_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
wrk_field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
if want latency; then
  mkdir -p "$RUN/latency"
  DB=$(fresh_db "$RUN/latency" latency)
  start_server "$DB" "$RUN/latency/server.log"
  read -r TOKEN ORG < <(register)
  stop_server
  log "latency: seeding $SEED_LEADS leads (lms seed, server stopped)"
  nice -n 19 "$LMS" seed --db "$DB" --org "$ORG" --leads "$SEED_LEADS" --agents 5 >"$RUN/latency/seed.log" 2>&1
  start_server "$DB" "$RUN/latency/server.log"
  export TOKEN
  D=${WRK_DURATION:-$(python3 -c "import sys; print(min(60, max(5, round(float(sys.argv[1] or 10)))))" "${R[import_total_s]:-}")}
  D=${D%s}
  R[wrk_seconds]=$D
  curl -sf "http://127.0.0.1:$PORT/api/leads?limit=50" -H "Authorization: Bearer $TOKEN" >/dev/null
  wrk -t2 -c50 -d2s --timeout 30s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null  # warm-up
  log "latency: baseline, wrk -t2 -c50 -d${D}s, no import"
  wrk -t2 -c50 -d"${D}s" --timeout 30s -s "$LUA" "http://127.0.0.1:$PORT" >"$RUN/latency/baseline.txt"
  grep WRKRESULT "$RUN/latency/baseline.txt" >"$RUN/latency/baseline.res"
  log "latency: during the import of $CSV, same duration"
  t0=$(now)
  JOB=$(upload "$RUN/latency/upload.txt")
  t_up=$(now)
  wrk -t2 -c50 -d"${D}s" --timeout 30s -s "$LUA" "http://127.0.0.1:$PORT" >"$RUN/latency/during.txt"
  t_wrk=$(now)
  job=$(wait_job "$JOB")
  t1=$(now)
  echo "$job" >"$RUN/latency/job.json"
  stop_server
  grep WRKRESULT "$RUN/latency/during.txt" >"$RUN/latency/during.res"
  for k in rps p50_ms p95_ms p99_ms max_ms non2xx socket_errors; do
    R[base_$k]=$(wrk_field "$RUN/latency/baseline.res" $k)
    R[during_$k]=$(wrk_field "$RUN/latency/during.res" $k)
  done
  R[latency_p95_ratio]=$(secs "${R[during_p95_ms]} / ${R[base_p95_ms]}")
  R[latency_rps_ratio]=$(secs "${R[during_rps]} / ${R[base_rps]}")
  R[latency_import_s]=$(secs "$t1 - $t0")
  # Part of the wrk window (which starts when the upload is answered) with the import running.
  R[latency_overlap]=$(python3 -c "import sys; a,w,e=map(float,sys.argv[1:]); print('%.0f%%' % (100*min(1,(e-a)/(w-a))))" "$t_up" "$t_wrk" "$t1")
  R[latency_import_state]=$(json_field state <"$RUN/latency/job.json")
  R[latency_import_inserted]=$(json_field inserted <"$RUN/latency/job.json")
  R[latency_import_duplicates]=$(json_field duplicates <"$RUN/latency/job.json")
fi

# ---- cli: lms import (same pipeline, no HTTP) ----
if want cli; then
  mkdir -p "$RUN/cli"
  DB=$RUN/cli/lms.db
  start_server "$DB" "$RUN/cli/server.log"
  read -r TOKEN ORG < <(register)
  stop_server
  log "cli: lms import $CSV --org $ORG"
  t0=$(now)
  $NICE /usr/bin/time -v "$LMS" import "$CSV" --org "$ORG" --db "$DB" --batch-rows "$BATCH_ROWS" \
    >"$RUN/cli/import.out" 2>"$RUN/cli/time.txt" </dev/null
  t1=$(now)
  R[cli_s]=$(secs "$t1 - $t0")
  R[cli_rows_s]=$(echo "$ROWS / ${R[cli_s]}" | bc)
  R[cli_maxrss_kb]=$(awk -F': ' '/Maximum resident/ {print $2}' "$RUN/cli/time.txt")
  R[cli_cpu_s]=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$RUN/cli/time.txt")
  # The same pipeline as a dry run (parse, map, validate, normalize, duplicate check; no lead
  # written): what the import costs before the store.
  DB=$RUN/cli/dry.db
  start_server "$DB" "$RUN/cli/server-dry.log"
  read -r TOKEN ORG < <(register)
  stop_server
  log "cli: lms import --dry-run $CSV --org $ORG"
  t0=$(now)
  $NICE /usr/bin/time -v "$LMS" import "$CSV" --org "$ORG" --db "$DB" --batch-rows "$BATCH_ROWS" --dry-run \
    >"$RUN/cli/dry.out" 2>"$RUN/cli/dry-time.txt" </dev/null
  t1=$(now)
  R[cli_dry_s]=$(secs "$t1 - $t0")
  R[cli_dry_rows_s]=$(echo "$ROWS / ${R[cli_dry_s]}" | bc)
  R[cli_dry_cpu_s]=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$RUN/cli/dry-time.txt")
fi
R[load_after]=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
for k in $(printf '%s\n' "${!R[@]}" | sort); do printf '%s=%q\n' "$k" "${R[$k]}"; done >"$RUN/results.env"
mib() { [ -n "${1:-}" ] && echo "$(( $1 / 1024 )) MiB" || echo "-"; }
{
  echo "## lms CSV import benchmark, ${R[date]}"
  echo
  echo "${R[nproc]} cores (${R[cpu]}), ${R[mem]}; commit ${R[commit]} (${R[dirty_files]} files changed), binary built ${R[binary_mtime]};"
  echo "load average before ${R[load_before]}, after ${R[load_after]}. File: $CSV, $ROWS rows, $MB MB."
  echo
  echo "| figure | value |"
  echo "|---|---|"
  if want parts; then
    printf '| reader alone (CsvReader::next, records + fields) | %.0f MB/s (%.0f rows/s) |\n' "${R[parts_reader_mb_s]}" "${R[parts_reader_rows_s]}"
    printf '| record count alone (the job'"'"'s totalRows pass) | %.0f MB/s |\n' "${R[parts_count_mb_s]}"
    printf '| normalize_phone alone, 1 thread | %.0f numbers/s (%s cells, %s invalid) |\n' "${R[parts_phone_numbers_s]}" "${R[parts_phones]}" "${R[parts_phones_invalid]}"
    printf '| normalize_phone alone, 2 threads | %.0f numbers/s |\n' "${R[parts_phone_numbers_s_mt]:-0}"
    printf '| import thread before the store (read + map + checks), 1 thread | %.0f rows/s |\n' "${R[parts_pipeline_rows_s]}"
  fi
  if want import; then
    echo "| end-to-end import (upload start → \`completed\`) | ${R[import_total_s]} s = **${R[import_rows_s]} rows/s** (target ≥ 100,000) |"
    echo "| of which upload until 202 / server startedAt → finishedAt | ${R[import_202_s]} s / ${R[import_job_s]} s |"
    echo "| job counts: inserted / duplicates / invalid / updated | ${R[import_inserted]} / ${R[import_duplicates]} / ${R[import_invalid]} / ${R[import_updated]} (state ${R[import_state]}, totalRows ${R[import_totalRows]}) |"
    echo "| generator's expected inserted / duplicates / invalid | ${R[expected_inserted]} / ${R[expected_duplicates]} / ${R[expected_invalid]} |"
    echo "| server CPU during the import (user + system) | ${R[import_cpu_s]} s |"
    echo "| server VmHWM (peak RSS) after the import / before it | $(mib "${R[import_hwm_kb]}") / $(mib "${R[import_hwm_before_kb]}") (target < 300 MB) |"
    echo "| peak RssAnon (heap) / peak RssFile (mmap'd database pages) | $(mib "${R[import_peak_anon_kb]}") / $(mib "${R[import_peak_file_kb]}") |"
    echo "| database after the import | $(( ${R[import_db_bytes]} / 1000000 )) MB |"
  fi
  if want latency; then
    echo "| GET /api/leads?limit=50, wrk -t2 -c50 -d${R[wrk_seconds]}s, no import ($SEED_LEADS seeded leads) | ${R[base_rps]} req/s, p50 ${R[base_p50_ms]} ms, **p95 ${R[base_p95_ms]} ms**, p99 ${R[base_p99_ms]} ms, non-2xx ${R[base_non2xx]} |"
    echo "| the same during the import | ${R[during_rps]} req/s, p50 ${R[during_p50_ms]} ms, **p95 ${R[during_p95_ms]} ms**, p99 ${R[during_p99_ms]} ms, non-2xx ${R[during_non2xx]} |"
    echo "| p95 during / without (target ≤ 2) | **${R[latency_p95_ratio]}x** (throughput ${R[latency_rps_ratio]}x; import running for ${R[latency_overlap]} of the wrk window; that import took ${R[latency_import_s]} s, ${R[latency_import_state]}) |"
  fi
  if want cli; then
    echo "| \`lms import\` (no HTTP), fresh database | ${R[cli_s]} s = ${R[cli_rows_s]} rows/s, max RSS $(mib "${R[cli_maxrss_kb]}"), CPU ${R[cli_cpu_s]} s |"
    echo "| \`lms import --dry-run\` (everything but the lead writes) | ${R[cli_dry_s]} s = ${R[cli_dry_rows_s]} rows/s, CPU ${R[cli_dry_cpu_s]} s |"
  fi
} | tee "$RUN/results.md"
echo
echo "raw outputs: $RUN"
