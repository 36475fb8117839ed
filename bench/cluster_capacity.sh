#!/usr/bin/env bash
# Capacity of N lms instances on PostgreSQL and Redis behind nginx (scripts/cluster), measured
# with lms-load through nginx, the same scenario as bench/capacity.sh (teams of 50, a Socket.IO
# connection per user, about 100 requests per user per 15 minutes).
#   N=2 bash bench/cluster_capacity.sh                     (after `make build`)
#   N=3 USERS=5000,10000 HOLD=20s bash bench/cluster_capacity.sh
#   N=1 REDIS=0 ...   one instance on PostgreSQL without Redis (in-process bus), through nginx
#   DIRECT=1 ...      lms-load against instance 1 directly instead of nginx (N=1: no proxy cost)
# Everything runs on 127.0.0.1 and is stopped at the end (scripts/cluster down --purge).
# Each process may hold 20,000 descriptors here: per-user HTTP costs 2 per user in nginx (and
# 2 upstream), so nginx gets NGINX_WORKERS processes and lms-load WORKERS processes.
set -euo pipefail
cd "$(dirname "$0")/.."
export LMS_BINARY=${LMS:-$PWD/build/lms}
LOAD=${LOAD:-build/lms-load}
N=${N:-2}
USERS=${USERS:-1000,2500,5000,7500}
ACCOUNTS=${ACCOUNTS:-2000}
HOLD=${HOLD:-30s}
RAMP=${RAMP:-20s}
WORKERS=${WORKERS:-2}
HTTP=${HTTP:-per-user}
OUT=${OUT:-docs/cluster-capacity-run/n$N}
dir=$(mktemp -d /tmp/lms-cluster-capacity-XXXXXX)
chmod 755 "$dir"
export LMS_CLUSTER_DIR=$dir/cluster
export LMS_CLUSTER_NGINX_WORKERS=${NGINX_WORKERS:-4}
export LMS_CLUSTER_ARGS="--rate-auth off --log-requests false --token-secret capacity-secret-capacity-secret-capacity ${EXTRA_ARGS:-}"
[ "${REDIS:-1}" = 1 ] || export LMS_CLUSTER_NO_REDIS_FLAGS=1
ulimit -n "$(ulimit -Hn)"
trap 'bash scripts/cluster down --purge >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

bash scripts/cluster up "$N"
# shellcheck disable=SC1091
. "$LMS_CLUSTER_DIR/cluster.env"
url=$NGINX_URL
[ "${DIRECT:-0}" = 1 ] && url=$INSTANCE_1_URL
echo "cluster-capacity: $N instance(s), load through $url"
"$LOAD" setup --url "$url" --accounts "$ACCOUNTS" --state "$dir/state.json"
# CPU seconds (utime+stime) and RSS of every process of a component, summed.
component_of() {
  case "$1" in lms) echo lms ;; lms-load) echo lms-load ;; nginx) echo nginx ;; redis-server) echo redis ;; postgres) echo postgres ;; *) echo "" ;; esac
}
snapshot() {  # prints: component cpu_seconds rss_kib
  local tck; tck=$(getconf CLK_TCK)
  for p in /proc/[0-9]*; do
    local comm c stat
    comm=$(cat "$p/comm" 2>/dev/null) || continue
    c=$(component_of "$comm"); [ -n "$c" ] || continue
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "$c $(( (${12} + ${13}) )) $(( ${22} * $(getconf PAGESIZE) / 1024 ))"
  done | awk -v tck="$tck" '{cpu[$1]+=$2/tck; rss[$1]+=$3} END {for (c in cpu) printf "%s %.2f %d\n", c, cpu[c], rss[c]}'
}
peak_rss() {  # samples RSS every 2 s into $1 until killed; keeps each component's peak
  while true; do snapshot | while read -r c _ rss; do echo "$c $rss"; done >>"$1"; sleep 2; done
}
IFS=, read -r -a steps <<<"$USERS"
results=()
for users in "${steps[@]}"; do
  snapshot >"$dir/before"
  start=$(date +%s.%N)
  peak_rss "$dir/rss-$users" & sampler=$!
  "$LOAD" capacity --url "$url" --state "$dir/state.json" --users "$users" --hold "$HOLD" --ramp "$RAMP" \
    --workers "$WORKERS" --http "$HTTP" --metrics-url "$INSTANCE_1_URL" --out "$OUT/step-$users"
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  end=$(date +%s.%N)
  snapshot >"$dir/after"
  results+=("$OUT/step-$users/results.json")
  echo "cluster-capacity: $users users, per component: average cores over the step (ramp and hold), peak RSS"
  awk -v secs="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" -v users="$users" '
    FNR == NR && FILENAME ~ /before/ { before[$1] = $2; next }
    FILENAME ~ /after/ { cpu[$1] = $2 - before[$1]; next }
    { if ($2 > rss[$1]) rss[$1] = $2 }
    END { for (c in cpu) printf "  %-9s %5.2f cores  %8.1f MiB  (%.1f us CPU per user-second, %.1f KiB per user)\n", c, cpu[c] / secs, rss[c] / 1024, cpu[c] / secs / users * 1e6, rss[c] / users }
  ' "$dir/before" "$dir/after" "$dir/rss-$users"
done
"$LOAD" report "${results[@]}" --out "$OUT"
for k in $(seq 1 "$N"); do
  v="INSTANCE_${k}_LOG"
  echo "cluster-capacity: n$k warnings:"
  grep -E '"level":"(warn|error)"' "${!v}" | head -5 || true
done
