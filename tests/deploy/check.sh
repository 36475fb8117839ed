#!/usr/bin/env bash
# The deployment files against the tools and the server they are for (ctest deploy_checks):
#  1. deploy/prometheus/lms-alerts.yml passes `promtool check rules`, and its alerts fire (and
#     do not) as tests/deploy/lms-alerts.test.yml says (`promtool test rules`);
#  2. deploy/nginx/lms.conf.template rendered by scripts/cluster passes `nginx -t`, and a
#     running nginx with it routes /socket.io/ requests by the sid's node prefix (n1., n2.) to
#     that instance, the others (handshake, unknown node, API) to the least_conn pool;
#  3. deploy/grafana/lms-dashboard.json is valid JSON with panels;
#  4. deploy/systemd/lms@.service passes `systemd-analyze verify` (when systemd-analyze is there);
#  5. every metric name the alerts and the dashboard use is in the /metrics of a real lms: one
#     on SQLite and one on PostgreSQL (LMS_TEST_POSTGRES_URL, else a private server from
#     scripts/pg.sh). Only `up` (made by Prometheus) and the Redis names (exposed with --redis;
#     required too when the binary has --redis) may be missing. A rule file with a made-up
#     name must fail the same check (so the check can fail).
# Usage: tests/deploy/check.sh [LMS_BINARY]   (default $LMS_BINARY, else build/lms)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LMS=$(realpath -m -- "${1:-${LMS_BINARY:-$ROOT/build/lms}}")
ALERTS=$ROOT/deploy/prometheus/lms-alerts.yml
DASHBOARD=$ROOT/deploy/grafana/lms-dashboard.json
UNIT=$ROOT/deploy/systemd/lms@.service

# Metrics that may be absent from a server's /metrics, in one explicit list each.
PROMETHEUS_SYNTHETIC=(up)  # made by Prometheus at each scrape
REDIS_ONLY=(redis_connected redis_reconnects_total eventbus_resyncs_total ratelimit_local_fallback_total)

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lms-deploy-check-XXXXXX")
chmod 755 "$tmp"
pids=()
nginx_pid_file=$tmp/nginx/nginx.pid
own_pg=no
cleanup() {
  if [ -s "$nginx_pid_file" ]; then kill -TERM "$(cat "$nginx_pid_file")" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  [ "$own_pg" = no ] || bash "$ROOT/scripts/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

for tool in promtool nginx node curl; do
  command -v "$tool" >/dev/null || {
    echo "deploy check: $tool not found (scripts/setup.sh installs it)" >&2
    exit 1
  }
done
[ -x "$LMS" ] || {
  echo "deploy check: $LMS not found or not executable" >&2
  exit 1
}

# --- 1. alert rules ---------------------------------------------------------------------------
if promtool check rules "$ALERTS" >"$tmp/promtool.out" 2>&1; then
  pass "promtool check rules $(grep -o '[0-9]* rules found' "$tmp/promtool.out")"
else
  cat "$tmp/promtool.out" >&2
  fail "promtool check rules $ALERTS"
fi

# Which alerts fire on which series (promtool's rule unit tests), on a copy of the rules
# without their annotations: promtool compares annotations too, and the labels are what matter.
mkdir -p "$tmp/rules"
awk '
  /^ *annotations: *$/ { indent = match($0, /[^ ]/); skipping = 1; next }
  skipping && /[^ ]/ && match($0, /[^ ]/) > indent { next }
  { skipping = 0; print }' "$ALERTS" >"$tmp/rules/lms-alerts.yml"
cp "$ROOT/tests/deploy/lms-alerts.test.yml" "$tmp/rules/"
if grep -q 'annotations:' "$tmp/rules/lms-alerts.yml"; then
  fail "the annotations were not stripped from the rules copy"
elif promtool test rules "$tmp/rules/lms-alerts.test.yml" >"$tmp/promtool-test.out" 2>&1; then
  pass "promtool test rules tests/deploy/lms-alerts.test.yml"
else
  cat "$tmp/promtool-test.out" >&2
  fail "promtool test rules tests/deploy/lms-alerts.test.yml"
fi

# --- 3. dashboard JSON ------------------------------------------------------------------------
if node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const panels = (d.panels || []).filter((p) => p.type !== "row");
  if (!d.title || !d.uid || panels.length < 10) throw new Error("expected a title, a uid and panels");
  for (const p of panels) if (!(p.targets || []).length) throw new Error("panel without targets: " + p.title);
  const ids = new Set(d.panels.map((p) => p.id));
  if (ids.size !== d.panels.length) throw new Error("duplicate panel ids");
' "$DASHBOARD"; then
  pass "dashboard JSON parses, every panel has a query"
else
  fail "dashboard $DASHBOARD"
fi

# --- 4. systemd unit --------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/systemd"
  # The unit as installed, but with the binary under test (verify checks that it exists).
  sed "s|^ExecStart=/usr/local/bin/lms |ExecStart=$LMS |" "$UNIT" >"$tmp/systemd/lms@.service"
  ln -s "lms@.service" "$tmp/systemd/lms@n1.service"
  if (cd "$tmp/systemd" && systemd-analyze verify ./lms@n1.service) >"$tmp/verify.out" 2>&1 && [ ! -s "$tmp/verify.out" ]; then
    pass "systemd-analyze verify lms@n1.service"
  else
    cat "$tmp/verify.out" >&2
    fail "systemd-analyze verify $UNIT"
  fi
else
  echo "skipped: systemd-analyze not installed"
fi

# --- servers ------------------------------------------------------------------------------------
# Starts `lms serve --port 0` with the remaining arguments; sets PORT to its port.
start_lms() {
  local log=$1
  shift
  "$LMS" serve --bind 127.0.0.1 --port 0 --log-requests false "$@" >"$log" 2>&1 &
  pids+=($!)
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(grep -m 1 -o '"msg":"listening".*' "$log" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [ -n "$PORT" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  echo "deploy check: lms did not start ($*)" >&2
  exit 1
}

# Some traffic, so the per-route series exist, then the metrics.
scrape() {
  local url=$1 out=$2
  curl -s -o /dev/null "$url/healthz"
  curl -s -o /dev/null "$url/api/auth/me"
  curl -s -o /dev/null -X POST "$url/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"organizationName\":\"Deploy\",\"name\":\"Dee\",\"email\":\"dee$RANDOM@deploy.test\",\"password\":\"a-long-secret\"}"
  curl -s -o /dev/null "$url/socket.io/?EIO=4&transport=polling"
  curl -sf "$url/metrics" >"$out" || {
    echo "deploy check: GET $url/metrics failed" >&2
    exit 1
  }
}

# With --redis in the binary (and redis-server here), the PostgreSQL instance gets Redis too,
# and the Redis names are required.
redis_args=()
optional=("${PROMETHEUS_SYNTHETIC[@]}")
if grep -q -- '--redis' <<<"$("$LMS" serve --help 2>/dev/null)" && command -v redis-server >/dev/null; then
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 10000)))
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize no \
    --dir "$tmp" --logfile "$tmp/redis.log" &
  pids+=($!)
  for _ in $(seq 1 50); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null || true)" = PONG ] && break
    sleep 0.1
  done
  redis_args=(--redis "redis://127.0.0.1:$redis_port" --node-id n2)
  echo "lms has --redis: its metrics are required (Redis on 127.0.0.1:$redis_port)"
else
  optional+=("${REDIS_ONLY[@]}")
  echo "lms has no --redis: ${REDIS_ONLY[*]} may be missing"
fi

start_lms "$tmp/sqlite.log" --db "$tmp/lms.db"
sqlite_port=$PORT
scrape "http://127.0.0.1:$sqlite_port" "$tmp/metrics.sqlite"

if [ -n "${LMS_TEST_POSTGRES_URL:-}" ]; then
  db=deploy_check_$$_$RANDOM
  psql=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql
  "$psql" -X -q -v ON_ERROR_STOP=1 "$LMS_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
  pg_url=${LMS_TEST_POSTGRES_URL%/*}/$db
else
  own_pg=yes
  bash "$ROOT/scripts/pg.sh" start "$tmp/pg" --fast >/dev/null
  pg_url=$(bash "$ROOT/scripts/pg.sh" db "$tmp/pg" lms 2>/dev/null)
fi
start_lms "$tmp/pg.log" --db "$pg_url" --spool-dir "$tmp/spool" --trust-proxy true "${redis_args[@]}"
pg_port=$PORT
scrape "http://127.0.0.1:$pg_port" "$tmp/metrics.pg"
pass "lms on SQLite (port $sqlite_port) and PostgreSQL (port $pg_port) serve /metrics"

# --- 5. metric names ----------------------------------------------------------------------------
optional_csv=$(IFS=,; echo "${optional[*]}")
names=(node "$ROOT/tests/deploy/metric_names.js" --metrics "$tmp/metrics.sqlite" --metrics "$tmp/metrics.pg"
  --optional "$optional_csv")
if "${names[@]}" "$ALERTS" "$DASHBOARD"; then
  pass "every metric of the alerts and the dashboard is exposed by lms"
else
  fail "metric names (above)"
fi
# The extraction sees what it should (not an empty set that trivially passes)...
"${names[@]}" --list "$ALERTS" "$DASHBOARD" 2>/dev/null >"$tmp/names" || true
for expected in http_request_duration_seconds_bucket http_requests_total eventloop_lag_seconds \
  process_resident_memory_bytes db_write_queue_depth db_pool_waiting realtime_connections \
  import_rows_total ratelimit_rejected_total redis_connected up; do
  grep -qx "$expected" "$tmp/names" || fail "the metric name extraction misses $expected"
done
# ...and a made-up name fails it.
cat >"$tmp/bad-rules.yml" <<'EOF'
groups:
  - name: bad
    rules:
      - alert: Bad
        expr: |
          sum by (job) (rate(lms_no_such_metric_total{job="lms"}[5m])) > 0
          and on (job) up == 1
EOF
if "${names[@]}" "$tmp/bad-rules.yml" 2>"$tmp/bad.out"; then
  fail "a rule with an unknown metric passed the name check"
elif grep -q lms_no_such_metric_total "$tmp/bad.out"; then
  pass "a rule with an unknown metric fails the name check"
else
  cat "$tmp/bad.out" >&2
  fail "the name check failed on the bad rule without naming the unknown metric"
fi

# --- 2. nginx: the template renders, nginx -t accepts it, and it routes by sid ----------------
mkdir -p "$tmp/nginx/logs"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 10000)))
bash "$ROOT/scripts/cluster" render-nginx "127.0.0.1:$nginx_port" "$tmp/nginx/logs/access.log" \
  "$sqlite_port" "$pg_port" >"$tmp/nginx/lms.conf"
if grep -v '^[[:space:]]*#' "$tmp/nginx/lms.conf" | grep -n '{{' >&2; then fail "placeholders left in the rendered template"; fi
cat >"$tmp/nginx/nginx.conf" <<EOF
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    include $tmp/nginx/lms.conf;
}
EOF
ngx=(nginx -p "$tmp/nginx/" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf")
if "${ngx[@]}" -t >"$tmp/nginx-t.out" 2>&1; then
  pass "nginx -t accepts the rendered deploy/nginx/lms.conf.template"
  "${ngx[@]}" -g 'daemon on;'
  base=http://127.0.0.1:$nginx_port
  for _ in $(seq 1 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
    sleep 0.1
  done
  # Which upstream served each request: the access log's upstream= field.
  upstream_of() {
    local marker=$1
    grep -F "rid=$marker" "$tmp/nginx/logs/access.log" | tail -n 1 | grep -o 'upstream=[^ ]*' | cut -d= -f2
  }
  request() {  # request MARKER PATH
    curl -s -o /dev/null -H "X-Request-Id: $1" "$base$2" || true
  }
  for i in 1 2 3; do
    request "n1-$i" "/socket.io/?EIO=4&transport=polling&sid=n1.AbCd$i"
    request "n2-$i" "/socket.io/?EIO=4&transport=polling&sid=n2.AbCd$i"
  done
  request unknown "/socket.io/?EIO=4&transport=polling&sid=n7.AbCd"
  request handshake "/socket.io/?EIO=4&transport=polling"
  request api "/api/auth/me"
  sleep 0.2  # the access log is written after the response
  routed=yes
  for i in 1 2 3; do
    [ "$(upstream_of "n1-$i")" = "127.0.0.1:$sqlite_port" ] || routed="n1-$i went to '$(upstream_of "n1-$i")'"
    [ "$(upstream_of "n2-$i")" = "127.0.0.1:$pg_port" ] || routed="n2-$i went to '$(upstream_of "n2-$i")'"
  done
  for marker in unknown handshake api; do
    case "$(upstream_of "$marker")" in
      "127.0.0.1:$sqlite_port" | "127.0.0.1:$pg_port") ;;
      *) routed="$marker went to '$(upstream_of "$marker")'" ;;
    esac
  done
  if [ "$routed" = yes ]; then
    pass "nginx routes sid n1./n2. to their instance, the rest to the pool"
  else
    cat "$tmp/nginx/logs/access.log" >&2
    fail "nginx sid routing: $routed"
  fi
  # /metrics is scraped from each instance, not published through nginx.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" = 404 ] ||
    fail "nginx publishes /metrics"
  # The API answers through nginx...
  body=$(curl -s -w ' %{http_code}' "$base/api/auth/me" -H 'Authorization: Bearer x')
  case "$body" in *'"unauthorized"'*' 401') ;; *) fail "GET /api/auth/me through nginx: $body" ;; esac
  # ...and with every instance gone, nginx answers the contract's 503 body.
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  body=$(curl -s -w ' %{http_code}' "$base/api/auth/me")
  case "$body" in
    '{"error":{"code":"unavailable"'*' 503') pass "nginx answers 503 unavailable (contract body) when no instance is up" ;;
    *) fail "GET /api/auth/me through nginx with no instance: $body" ;;
  esac
else
  cat "$tmp/nginx-t.out" >&2
  fail "nginx -t on the rendered template"
fi

if [ "$failures" -gt 0 ]; then
  echo "deploy check: $failures failure(s)" >&2
  exit 1
fi
echo "deploy check: all passed"
