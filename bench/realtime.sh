#!/usr/bin/env bash
# Real-time (Socket.IO) figures of issue 4, for lms and, as the baseline, the stock Node
# socket.io v4 server (bench/realtime/node_server.js), in the same run with the same client
# (tools/socket_bench):
#   1+2. sockets held and memory per idle socket: SOCKETS sockets opened and kept HOLD seconds
#      (more than pingInterval + pingTimeout, so each has to keep up the heartbeat), counted at
#      the end; (server RSS once they are connected - RSS before) / connected sockets
#   3. fan-out: FANOUT admin sockets of one organization, EVENTS times POST /api/leads; latency
#      from the REST answer to each socket's receipt of that lead's `lead:created`
# SERVERS may also name `base`: an earlier lms binary ($LMS_BASE), run the same way, for a
# before/after in one run. PERF=1 records a perf profile of each server during the fan-out
# (cpu-clock, call graphs) and keeps its top functions beside the results.
# Usage (as root, after `make build`):
#   bash bench/realtime.sh                         full run: 50,000 held, fan-out to 10,000
#   SOCKETS=2000 FANOUT=1000 EVENTS=5 HOLD=5 bash bench/realtime.sh      quick run
# Environment: SOCKETS, FANOUT, EVENTS, HOLD (s), SETTLE (s), INTERVAL (s between creates),
#   CONCURRENCY (handshakes in flight), THREADS (client I/O threads), SERVERS ("lms node"),
#   SOURCES (client source addresses), NOFILE, LMS (binary), RESULTS (table file).
# Starts its own servers on a fresh database and stops everything it started.
set -euo pipefail
# Load from one client address and one user: the rate limits would measure themselves.
export LMS_RATE_API=off LMS_RATE_AUTH=off
cd "$(dirname "$0")/.."

LMS=${LMS:-build/lms}
SOCKETS=${SOCKETS:-50000}
FANOUT=${FANOUT:-10000}
EVENTS=${EVENTS:-20}
HOLD=${HOLD:-60}
SETTLE=${SETTLE:-5}
INTERVAL=${INTERVAL:-0.5}
CONCURRENCY=${CONCURRENCY:-256}
THREADS=${THREADS:-1}
SERVERS=${SERVERS:-lms node}
SOURCES=${SOURCES:-127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9}
NOFILE=${NOFILE:-200000}
RESULTS=${RESULTS:-bench/realtime/last-run.md}
TOOL=build-bench-tool/socket_bench

log() { echo "realtime.sh: $*" >&2; }

# --- the client and the baseline server ----------------------------------------------------
if [ ! -f build-bench-tool/build.ninja ]; then
  cmake -S tools/socket_bench -B build-bench-tool -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build-bench-tool >/dev/null
case " $SERVERS " in *" node "*)
  if [ ! -d bench/realtime/node_modules ]; then (cd bench/realtime && npm ci --no-audit --no-fund >/dev/null); fi
esac

# --- limits: one file descriptor per socket on each side -----------------------------------
# Raising the hard limit needs CAP_SYS_RESOURCE; without it the run goes on with the hard limit
# and the table says which limit was in force.
ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
if [ "$nofile" -lt $((SOCKETS + 100)) ]; then
  log "open-file limit is $nofile (wanted $NOFILE): sockets beyond it will fail"
fi
# The accept backlog must take a burst of CONCURRENCY connects; one source address gives
# ip_local_port_range ports per destination, SOURCES multiplies that.
if [ "$(sysctl -n net.core.somaxconn)" -lt $((CONCURRENCY * 4)) ]; then
  sysctl -qw net.core.somaxconn=$((CONCURRENCY * 4)) 2>/dev/null || log "could not raise net.core.somaxconn"
fi
read -r port_lo port_hi < <(sysctl -n net.ipv4.ip_local_port_range)
nsources=$(tr ',' '\n' <<<"$SOURCES" | grep -c .)
if [ $(((port_hi - port_lo) * nsources)) -lt "$SOCKETS" ]; then
  log "ephemeral ports ($port_lo-$port_hi) x $nsources source addresses < $SOCKETS sockets: add SOURCES"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dir=$(mktemp -d /tmp/lms-realtime-XXXXXX)
server=""
client=""
cleanup() {
  [ -n "$client" ] && kill "$client" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$server/stat"; }  # utime + stime, 100 Hz ticks

# Starts server $1 in the background, sets $server and $port, and $token (admin access token).
start_server() {
  local name=$1
  case $name in
    lms|base)
      rm -f "$dir"/lms.db*
      local binary=$LMS
      [ "$name" = base ] && binary=${LMS_BASE:?LMS_BASE names the earlier lms binary}
      # Access tokens live 2 h so that one token lasts the whole run.
      "$binary" serve --port 0 --bind 127.0.0.1 --db "$dir/lms.db" --log-requests false --access-ttl 2h \
        >"$dir/$name.log" 2>&1 &
      ;;
    node)
      node bench/realtime/node_server.js 0 >"$dir/$name.log" 2>&1 &
      ;;
  esac
  server=$!
  port=""
  for _ in $(seq 100); do
    port=$(grep -m1 '"listening"' "$dir/$name.log" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$dir/$name.log" >&2; log "$name did not start"; exit 1; }
  if [ "$name" != node ]; then
    token=$(curl -sf -X POST "http://127.0.0.1:$port/api/auth/register" -H 'Content-Type: application/json' \
      -d '{"organizationName":"Realtime Bench","name":"Bench Admin","email":"admin@realtime.bench","password":"bench-password"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  else
    token=bench-token  # the baseline takes any non-empty token
  fi
  log "$name listening on $port (pid $server)"
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

# Runs socket_bench in the background with the given arguments; waits for its "ready" line.
start_client() {
  local out=$1; shift
  "$TOOL" "$@" --port "$port" --token "$token" --source-addresses "$SOURCES" --threads "$THREADS" \
    --concurrency "$CONCURRENCY" >"$out.json" 2>"$out.err" &
  client=$!
  while ! grep -q '^socket_bench: ready' "$out.err" 2>/dev/null; do
    kill -0 "$client" 2>/dev/null || { cat "$out.err" >&2; log "socket_bench died"; exit 1; }
    sleep 0.2
  done
}

finish_client() {
  wait "$client" || { cat "$1.err" >&2; log "socket_bench failed"; exit 1; }
  client=""
}

for name in $SERVERS; do
  start_server "$name"
  # Warm-up: a few sockets and one event, so that one-time allocations are not counted per socket.
  "$TOOL" fanout --port "$port" --token "$token" --sockets 100 --events 1 --warmup 0.2 >/dev/null 2>&1 || true
  sleep "$SETTLE"
  rss_before=$(rss_kb)

  # 1 + 2: hold SOCKETS sockets for HOLD seconds; RSS once they are all connected and settled.
  log "$name: holding $SOCKETS sockets for ${HOLD}s"
  cpu0=$(cpu_s)
  start_client "$dir/$name-hold" hold --sockets "$SOCKETS" --duration "$HOLD"
  cpu1=$(cpu_s)
  sleep "$SETTLE"
  rss_held=$(rss_kb)
  finish_client "$dir/$name-hold"
  echo "{\"rss_before_kb\":$rss_before,\"rss_held_kb\":$rss_held,\"connect_cpu_s\":$(awk "BEGIN {print $cpu1 - $cpu0}")}" \
    >"$dir/$name-rss.json"
  sleep "$SETTLE"  # let the server close the held sockets

  # 3: fan-out of EVENTS lead:created to FANOUT sockets.
  log "$name: fan-out to $FANOUT sockets, $EVENTS events"
  start_client "$dir/$name-fanout" fanout --sockets "$FANOUT" --events "$EVENTS" --interval "$INTERVAL"
  cpu0=$(cpu_s)
  perf_pid=""
  if [ "${PERF:-0}" = 1 ]; then
    perf record -q -e cpu-clock -g -p "$server" -o "$dir/$name.perf.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  finish_client "$dir/$name-fanout"
  cpu1=$(cpu_s)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$dir/$name.perf.data" --no-children --stdio --sort symbol 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed 's/ *-* *-* *$//' | cut -c1-140 | head -40 >"${RESULTS%.md}-$name-perf.txt" || true
    { echo "by object:"; perf report -i "$dir/$name.perf.data" --no-children --stdio --sort dso 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed 's/ *$//' | head -8; } >>"${RESULTS%.md}-$name-perf.txt" || true
  fi
  echo "{\"fanout_cpu_s\":$(awk "BEGIN {print $cpu1 - $cpu0}")}" >"$dir/$name-cpu.json"
  grep '^socket_bench: event' "$dir/$name-fanout.err" | tail -3 >&2 || true
  stop_server
done

# --- the table -----------------------------------------------------------------------------
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
python3 - "$dir" "$SERVERS" >"$dir/table.md" <<EOF
import json, sys
d, servers = sys.argv[1], sys.argv[2].split()
def load(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
r = {s: (load(f"{d}/{s}-hold.json"), {**(load(f"{d}/{s}-rss.json") or {}), **(load(f"{d}/{s}-cpu.json") or {})},
          load(f"{d}/{s}-fanout.json")) for s in servers}
def ms(x): return "—" if x is None else f"{x:.1f}"
def n(x): return "—" if x is None else f"{x:,}"
rows = []
def row(label, f, target=""):
    cells = []
    for s in servers:
        try: cells.append(f(*r[s]))
        except Exception: cells.append("—")
    rows.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
row("sockets opened (SOCKETS=$SOCKETS)", lambda h, m, f: f"{n(h['connected'])} connected, {n(h['failed'])} failed, {n(h['refused'])} refused")
row("sockets held: open and heard from within the ping window after ${HOLD} s", lambda h, m, f: f"**{n(h['alive_at_end'])}**", "≥ 50,000")
row("handshakes/s (concurrency $CONCURRENCY)", lambda h, m, f: f"{h['handshakes_per_second']:,.0f}")
row("server CPU for the handshakes", lambda h, m, f: f"{m['connect_cpu_s']:.1f} s")
row("server RSS before → with the held sockets", lambda h, m, f: f"{m['rss_before_kb']/1024:.0f} → {m['rss_held_kb']/1024:.0f} MiB")
row("memory per idle socket", lambda h, m, f: f"**{(m['rss_held_kb']-m['rss_before_kb'])/h['connected']:.1f} KiB**", "< 10 KB")
row("fan-out receivers × events", lambda h, m, f: f"{n(f['receivers'])} × {f['created']}")
row("receipts (missing)", lambda h, m, f: f"{n(f['receipts'])} ({n(f['missing'])})")
row("REST answer → receipt p50 / p95", lambda h, m, f: f"{ms(f['latency_ms']['p50'])} / {ms(f['latency_ms']['p95'])} ms")
row("REST answer → receipt p99", lambda h, m, f: f"**{ms(f['latency_ms']['p99'])} ms**", "< 100 ms")
row("REST answer → receipt max", lambda h, m, f: f"{ms(f['latency_ms']['max'])} ms")
row("last socket per event p50 / p99 / max", lambda h, m, f: f"{ms(f['last_socket_ms']['p50'])} / {ms(f['last_socket_ms']['p99'])} / {ms(f['last_socket_ms']['max'])} ms")
row("server CPU per fan-out event (all receivers)", lambda h, m, f: f"{m['fanout_cpu_s'] / f['created'] * 1000:.0f} ms")
row("server CPU per delivery", lambda h, m, f: f"**{m['fanout_cpu_s'] / f['receipts'] * 1e6:.1f} µs**", "≤ 5 µs")
row("client CPU per receipt (socket_bench)", lambda h, m, f: f"{f['events_client_cpu_s'] / f['receipts'] * 1e6:.1f} µs")
row("POST /api/leads p50 / max", lambda h, m, f: f"{ms(f['rest_ms']['p50'])} / {ms(f['rest_ms']['max'])} ms")
print("| figure | " + " | ".join(servers) + " | target |")
print("|---|" + "---|" * len(servers) + "---|")
print("\n".join(rows))
EOF
{
  echo "## Real-time benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores ($cpu_model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), open-file limit $nofile, load average $load_before before and $load_after after"
  echo "\`SOCKETS=$SOCKETS FANOUT=$FANOUT EVENTS=$EVENTS HOLD=$HOLD INTERVAL=$INTERVAL CONCURRENCY=$CONCURRENCY THREADS=$THREADS bash bench/realtime.sh\`"
  echo
  cat "$dir/table.md"
  echo
  echo "Raw results (socket_bench JSON):"
  echo
  echo '```'
  for name in $SERVERS; do
    for part in hold rss fanout cpu; do
      if [ -f "$dir/$name-$part.json" ]; then echo "$name $part: $(cat "$dir/$name-$part.json")"; fi
    done
  done
  echo '```'
} | tee "$RESULTS"
log "written to $RESULTS"
