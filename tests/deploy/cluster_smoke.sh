#!/usr/bin/env bash
# shellcheck disable=SC2015,SC1091,SC2009  # `test && pass || fail`: pass never fails
# scripts/cluster end to end (ctest deploy_cluster): `up 2` in a temporary state folder, then
# through nginx: log in with the printed demo account, create and read a lead, and Socket.IO
# long-polling sessions whose every request must reach the instance that issued the session
# (sid routing: CONNECT answered over polling, 10 sessions); kill -9 one instance and the API
# still answers through nginx; `start-instance` brings it back; `stop-redis` makes the
# instances' /readyz 503 and redis_connected 0, `start-redis` brings both back; `down` leaves
# no process. Exit 77 (skipped) when the binary has no --node-id (built before Redis support)
# unless LMS_CLUSTER_NO_REDIS_FLAGS=1, which runs what does not need it.
# Usage: tests/deploy/cluster_smoke.sh [LMS_BINARY]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export LMS_BINARY=${1:-${LMS_BINARY:-$ROOT/build/lms}}
legacy=${LMS_CLUSTER_NO_REDIS_FLAGS:-0}
if [ "$legacy" != 1 ] && ! grep -q -- '--node-id' <<<"$("$LMS_BINARY" serve --help 2>/dev/null)"; then
  echo "skipped: $LMS_BINARY has no --node-id/--redis (set LMS_CLUSTER_NO_REDIS_FLAGS=1 to run the rest)"
  exit 77
fi

export LMS_CLUSTER_DIR
LMS_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lms-cluster-test-XXXXXX")
chmod 755 "$LMS_CLUSTER_DIR"
export LMS_CLUSTER_ARGS="--rate-auth off"
cluster=(bash "$ROOT/scripts/cluster")
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
cleanup() {
  "${cluster[@]}" down --purge >/dev/null 2>&1 || true
  rm -rf "$LMS_CLUSTER_DIR"
}
trap cleanup EXIT

"${cluster[@]}" up 2 | tee "$LMS_CLUSTER_DIR.up.out"
# shellcheck disable=SC1091
. "$LMS_CLUSTER_DIR/cluster.env"
# shellcheck disable=SC1091
. "$LMS_CLUSTER_DIR/login.env"
rm -f "$LMS_CLUSTER_DIR.up.out"
grep -q . <<<"$NGINX_URL" || fail "no NGINX_URL in cluster.env"
[ "$INSTANCE_COUNT" = 2 ] || fail "INSTANCE_COUNT=$INSTANCE_COUNT"
if "${cluster[@]}" status >/dev/null; then pass "status: every component runs"; else fail "status after up"; fi

json_field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\\1/"; }

login=$(curl -s -X POST "$NGINX_URL/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$LMS_LOGIN_EMAIL\",\"password\":\"$LMS_LOGIN_PASSWORD\"}")
token=$(json_field accessToken <<<"$login")
[ -n "$token" ] && [ "$token" != "$login" ] || {
  echo "$login" >&2
  fail "login through nginx"
}
created=$(curl -s -w ' %{http_code}' -X POST "$NGINX_URL/api/leads" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"name":"Cluster Test","email":"cluster@test.example"}')
case "$created" in *' 201') pass "a lead created through nginx" ;; *) fail "create through nginx: $created" ;; esac
lead_id=$(json_field id <<<"$created")
ok=0
for _ in 1 2 3 4 5 6; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/api/leads/$lead_id" -H "Authorization: Bearer $token")" = 200 ] && ok=$((ok + 1))
done
[ "$ok" = 6 ] && pass "the lead is read back through nginx 6 times (both instances)" || fail "lead read back $ok/6 times"

# Socket.IO over long-polling through nginx: handshake, CONNECT with the token, the server's
# CONNECT answer on the next poll. Every request after the handshake must reach the instance
# of the sid.
polling_session() {
  local base="$NGINX_URL/socket.io/?EIO=4&transport=polling" open sid answer
  open=$(curl -s -m 5 "$base")
  sid=$(json_field sid <<<"$open")
  [ -n "$sid" ] && [ "$sid" != "$open" ] || return 1
  [ "$(curl -s -m 5 -X POST -H 'Content-Type: text/plain;charset=UTF-8' --data-binary "40{\"token\":\"$token\"}" "$base&sid=$sid")" = ok ] || return 1
  answer=$(curl -s -m 5 "$base&sid=$sid")
  case "$answer" in *'40{"sid"'*) echo "$sid" ;; *) return 1 ;; esac
}
if [ "$legacy" != 1 ]; then
  good=0 nodes=" "
  for _ in $(seq 1 10); do
    if sid=$(polling_session); then
      good=$((good + 1))
      nodes+="${sid%%.*} "
    fi
  done
  if [ "$good" = 10 ]; then pass "10 Socket.IO polling sessions through nginx, each pinned (nodes:$nodes)"; else fail "$good/10 polling sessions through nginx"; fi
  case "$nodes" in *" n1 "*) ;; *) fail "no polling session on n1 (least_conn handshakes: $nodes)" ;; esac
  case "$nodes" in *" n2 "*) ;; *) fail "no polling session on n2 (least_conn handshakes: $nodes)" ;; esac
else
  echo "skipped: Socket.IO polling pinning (LMS_CLUSTER_NO_REDIS_FLAGS=1: no node ids)"
fi

# An instance dies: the API still answers through nginx.
kill -9 "$INSTANCE_2_PID"
sleep 0.5
ok=0
for _ in 1 2 3 4 5 6; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/api/leads/$lead_id" -H "Authorization: Bearer $token")" = 200 ] && ok=$((ok + 1))
done
[ "$ok" = 6 ] && pass "n2 killed (-9): 6/6 reads through nginx answered" || fail "after kill -9 of n2: $ok/6 reads answered"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/readyz")" = 200 ] || fail "nginx /readyz with n1 up"
if "${cluster[@]}" status >/dev/null; then fail "status says all runs with n2 killed"; else pass "status reports n2 stopped"; fi
"${cluster[@]}" start-instance 2
# shellcheck disable=SC1091
. "$LMS_CLUSTER_DIR/cluster.env"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$INSTANCE_2_URL/readyz")" = 200 ] && pass "n2 back on $INSTANCE_2_URL" || fail "n2 not back"

# Redis stops and comes back.
if [ "$legacy" != 1 ]; then
  "${cluster[@]}" stop-redis
  status=
  for _ in $(seq 1 75); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$INSTANCE_1_URL/readyz")
    [ "$status" = 503 ] && break
    sleep 0.2
  done
  [ "$status" = 503 ] && pass "Redis stopped: n1 /readyz 503" || fail "Redis stopped: n1 /readyz still $status after 15 s"
  grep -q '^redis_connected 0' <<<"$(curl -s "$INSTANCE_1_URL/metrics")" && pass "redis_connected 0" || fail "redis_connected is not 0 with Redis stopped"
  "${cluster[@]}" start-redis
  ready=no
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$INSTANCE_1_URL/readyz")" = 200 ] && { ready=yes; break; }
    sleep 0.2
  done
  [ "$ready" = yes ] && pass "Redis back: n1 ready again" || fail "n1 not ready 20 s after Redis came back"
  grep -q '^redis_connected 1' <<<"$(curl -s "$INSTANCE_1_URL/metrics")" && pass "redis_connected 1" || fail "redis_connected is not 1 after Redis came back"
fi

# down leaves nothing.
. "$LMS_CLUSTER_DIR/cluster.env"
all_pids="$NGINX_PID $REDIS_PID $PG_PID $INSTANCE_PIDS"
"${cluster[@]}" down
# (A zombie is not left running: some container inits never reap the daemons' zombies.)
left=""
for p in $all_pids; do
  [ "$p" = - ] || ! ps -o stat= -p "$p" 2>/dev/null | grep -qv '^Z' || left+=" $p"
done
if [ -z "$left" ] && ! ps -eo stat,args | grep -v '^Z' | grep -F -- "$LMS_CLUSTER_DIR" | grep -v grep >/dev/null; then
  pass "down: no process left"
else
  ps -eo pid,args | grep -F -- "$LMS_CLUSTER_DIR" >&2 || true
  fail "down left processes:$left"
fi

if [ "$failures" -gt 0 ]; then
  echo "cluster smoke: $failures failure(s)" >&2
  exit 1
fi
echo "cluster smoke: all passed"
